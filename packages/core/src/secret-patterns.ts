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
    // `sk-ant-api03-…`, `sk-ant-admin01-…`. Before OpenAI's rule, whose `sk-` would take it.
    type: 'anthropic',
    triggers: ['sk-ant-'],
    regex: /\bsk-ant-[a-z]{3,8}\d{2}-[A-Za-z0-9_-]{32,}/g,
  },
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
    // The secret half of an AWS key pair has no prefix of its own: it is found by the name it
    // is assigned to (credentials files, .env, JSON, YAML, code). The lookbehind keeps the name
    // out of the match, so redaction leaves `aws_secret_access_key=` readable. The end is a
    // lookahead rather than `\b`, since a key may end in `/` or `+`.
    type: 'aws-secret-access-key',
    triggers: [
      'secret_access_key',
      'SECRET_ACCESS_KEY',
      'SecretAccessKey',
      'secretAccessKey',
      'secret-access-key',
      'aws_secret_key',
      'AWS_SECRET_KEY',
    ],
    regex:
      /(?<=(?:secret[_.-]?access[_.-]?key|aws[_.-]?secret[_.-]?key)["']?\s{0,4}(?:=|:|=>|:=)\s{0,4}["']?)[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=_])/gi,
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
  {
    type: 'npm',
    triggers: ['npm_'],
    regex: /\bnpm_[A-Za-z0-9]{36}\b/g,
  },
  {
    // Personal, project and group access tokens; newer ones carry `.`-separated parts.
    type: 'gitlab',
    triggers: ['glpat-'],
    regex: /\bglpat-[A-Za-z0-9_-]{20,}(?:\.[A-Za-z0-9_-]+)*/g,
  },
  {
    type: 'sendgrid',
    triggers: ['SG.'],
    regex: /\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/g,
  },
]);

export const SECRET_PATTERNS: readonly SecretPattern[] = Object.freeze([
  PRIVATE_KEY_PATTERN,
  ...TOKEN_PATTERNS,
]);
