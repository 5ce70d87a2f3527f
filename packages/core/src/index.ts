/**
 * @keywarden/core: the pure building blocks shared by the server, the SDK and the dashboard —
 * key format and checksum, scopes, redaction. No I/O, no dependencies, no Node built-ins, so
 * it runs unchanged in Node, browsers and edge runtimes.
 */

export type { RandomBytes } from './base62.ts';
export { BASE62_ALPHABET, encodeBase62, randomBase62, secureRandomBytes } from './base62.ts';
export { crc32 } from './crc32.ts';
export type { KeyFormatResult, ParsedKey } from './key-format.ts';
export {
  CHECKSUM_LENGTH,
  checkKeyFormat,
  displayKey,
  ENV_PATTERN,
  generateKey,
  isWellFormedKey,
  KEY_CANDIDATE_REGEX,
  MAX_KEY_LENGTH,
  PREFIX_PATTERN,
  RANDOM_LENGTH,
} from './key-format.ts';
export {
  redactHeaderValue,
  redactSecrets,
  redactUrl,
  SECRET_PARAM_NAMES,
  SENSITIVE_HEADER_NAMES,
} from './redact.ts';
export type { Scope, ScopeLevel } from './scopes.ts';
export {
  formatScope,
  hasScopes,
  isValidScope,
  missingScopes,
  parseScope,
  parseScopeList,
  SCOPE_LEVELS,
  scopeCovers,
} from './scopes.ts';
export type { SecretPattern } from './secret-patterns.ts';
export { PRIVATE_KEY_PATTERN, SECRET_PATTERNS, TOKEN_PATTERNS } from './secret-patterns.ts';
