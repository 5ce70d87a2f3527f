/**
 * Third-party secret formats that redaction replaces with `[REDACTED:<type>]`; a scanner may use
 * the same catalogue. Each regex is global, linear-time, and begins and ends on a word boundary
 * (or runs greedily over a class that includes every word character), so a match never stops
 * halfway through a neighbouring token: a secret glued to another is removed whole or left
 * whole for the next rule, never half-redacted.
 *
 * Test fixtures for these formats are assembled at run time (see redact.test.ts) so that the
 * repository itself does not trip secret scanners or push protection.
 */

export interface SecretPattern {
  /** Shown in the replacement: `[REDACTED:<type>]`. */
  readonly type: string;
  /** The regex runs only when the text contains one of these substrings (cheap pre-filter). */
  readonly triggers: readonly string[];
  /** Global, hence stateful: use with `String#replace` / `matchAll`, which reset it. */
  readonly regex: RegExp;
}

export const PRIVATE_KEY_PATTERN: SecretPattern = Object.freeze({
  // PEM and PGP private key blocks. An unterminated block (a truncated log line) is redacted
  // to the end of the text: with no END marker there is no telling where the key stops.
  type: 'private-key',
  triggers: ['PRIVATE KEY'],
  regex:
    /-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----(?:[\s\S]*?-----END [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----|[\s\S]*$)/g,
});

/** Formats of single tokens (API keys, access key ids). */
export const TOKEN_PATTERNS: readonly SecretPattern[] = Object.freeze([
  {
    // Legacy `sk-…` (48 characters), project `sk-proj-…`, `sk-svcacct-…`, `sk-admin-…`. The
    // length floor keeps hyphenated words that happen to start with `sk-` out.
    type: 'openai',
    triggers: ['sk-'],
    regex: /\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{32,}/g,
  },
  {
    type: 'github',
    triggers: ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_', 'github_pat_'],
    regex: /\b(?:gh[pousr]_[A-Za-z0-9_]{36,}|github_pat_[A-Za-z0-9_]{22,})/g,
  },
  {
    type: 'stripe',
    triggers: ['k_live_', 'k_test_'],
    regex: /\b[rs]k_(?:live|test)_[A-Za-z0-9_]{16,}/g,
  },
  {
    // Long-term (AKIA) and temporary (ASIA) access key ids.
    type: 'aws',
    triggers: ['AKIA', 'ASIA'],
    regex: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g,
  },
  {
    type: 'slack',
    triggers: ['xox'],
    regex: /\bxox[baprs]-[A-Za-z0-9_-]{10,}/g,
  },
  {
    type: 'google',
    triggers: ['AIza'],
    regex: /\bAIza[0-9A-Za-z_-]{35,}/g,
  },
]);

export const SECRET_PATTERNS: readonly SecretPattern[] = Object.freeze([
  PRIVATE_KEY_PATTERN,
  ...TOKEN_PATTERNS,
]);
