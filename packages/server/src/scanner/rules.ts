import { SECRET_PATTERNS, type SecretPattern } from '@keywarden/core';

/**
 * The scanner's rule catalogue: what each rule finds, the `kind` a finding reports and the
 * text SARIF shows. The shapes themselves live in core (`SECRET_PATTERNS`, `KEY_CANDIDATE_REGEX`)
 * so that redaction and scanning never disagree; this file only names and describes them.
 */

export type SecretKind =
  | 'keywarden'
  | 'openai'
  | 'anthropic'
  | 'github'
  | 'stripe'
  | 'aws-access-key-id'
  | 'aws-secret-access-key'
  | 'slack'
  | 'google-api-key'
  | 'npm'
  | 'gitlab'
  | 'sendgrid'
  | 'private-key'
  | 'generic-high-entropy'
  // A pattern added to core before it is described here still scans, under its core type.
  | (string & {});

export interface ScanRule {
  /** Stable id: SARIF `ruleId`, part of every fingerprint. Never rename one. */
  readonly id: string;
  readonly kind: SecretKind;
  /** SARIF `shortDescription`. */
  readonly title: string;
  /** SARIF `fullDescription`: what matches and how sure the match is. */
  readonly description: string;
  /** `warning` for rules that guess from context (entropy), `error` for exact formats. */
  readonly level: 'error' | 'warning';
}

export const KEYWARDEN_RULE: ScanRule = Object.freeze({
  id: 'keywarden-api-key',
  kind: 'keywarden',
  title: 'keywarden API key',
  description:
    'A keywarden key (`<prefix>_<env>_<random><checksum>`) whose CRC-32 checksum is right: a real key, not a look-alike.',
  level: 'error',
});

export const GENERIC_ASSIGNMENT_RULE: ScanRule = Object.freeze({
  id: 'generic-secret-assignment',
  kind: 'generic-high-entropy',
  title: 'High-entropy value assigned to a secret name',
  description:
    'A random-looking value (Shannon entropy and length above thresholds, not a placeholder) assigned to a name such as api_key, secret, token, password or client_secret.',
  level: 'warning',
});

export const GENERIC_BEARER_RULE: ScanRule = Object.freeze({
  id: 'generic-bearer-token',
  kind: 'generic-high-entropy',
  title: 'High-entropy bearer token',
  description: 'A random-looking credential written after `Bearer` (an Authorization header).',
  level: 'warning',
});

/** Rule facts for each core pattern type. */
const PATTERN_RULES: Readonly<Record<string, Omit<ScanRule, 'level'>>> = {
  'private-key': {
    id: 'private-key',
    kind: 'private-key',
    title: 'Private key',
    description: 'A PEM or PGP private key block (RSA, EC, DSA, OpenSSH, PKCS#8, PGP).',
  },
  anthropic: {
    id: 'anthropic-api-key',
    kind: 'anthropic',
    title: 'Anthropic API key',
    description: 'An Anthropic API or admin key (`sk-ant-…`).',
  },
  openai: {
    id: 'openai-api-key',
    kind: 'openai',
    title: 'OpenAI API key',
    description: 'An OpenAI key: legacy `sk-…`, project `sk-proj-…`, `sk-svcacct-…`, `sk-admin-…`.',
  },
  github: {
    id: 'github-token',
    kind: 'github',
    title: 'GitHub token',
    description:
      'A GitHub personal access token (classic `ghp_`, fine-grained `github_pat_`), OAuth, user-to-server, server-to-server or refresh token.',
  },
  stripe: {
    id: 'stripe-api-key',
    kind: 'stripe',
    title: 'Stripe secret or restricted key',
    description: 'A Stripe secret (`sk_live_`, `sk_test_`) or restricted (`rk_…`) key.',
  },
  aws: {
    id: 'aws-access-key-id',
    kind: 'aws-access-key-id',
    title: 'AWS access key ID',
    description:
      'An AWS access key id (`AKIA…` long-term, `ASIA…` temporary). Not a secret alone, but its secret half is usually nearby.',
  },
  'aws-secret-access-key': {
    id: 'aws-secret-access-key',
    kind: 'aws-secret-access-key',
    title: 'AWS secret access key',
    description:
      'A 40-character AWS secret access key assigned to a name like aws_secret_access_key or SecretAccessKey.',
  },
  slack: {
    id: 'slack-token',
    kind: 'slack',
    title: 'Slack token',
    description:
      'A Slack bot, user, app or refresh token (`xoxb-`, `xoxp-`, `xoxa-`, `xoxr-`, `xoxs-`).',
  },
  google: {
    id: 'google-api-key',
    kind: 'google-api-key',
    title: 'Google API key',
    description: 'A Google Cloud / Firebase / Maps API key (`AIza…`).',
  },
  npm: {
    id: 'npm-token',
    kind: 'npm',
    title: 'npm access token',
    description: 'An npm access token (`npm_…`).',
  },
  gitlab: {
    id: 'gitlab-token',
    kind: 'gitlab',
    title: 'GitLab access token',
    description: 'A GitLab personal, project or group access token (`glpat-…`).',
  },
  sendgrid: {
    id: 'sendgrid-api-key',
    kind: 'sendgrid',
    title: 'SendGrid API key',
    description: 'A SendGrid API key (`SG.<22>.<43>`).',
  },
};

/** The rule for a core pattern; a type not described above still gets a usable rule. */
export function ruleForPattern(pattern: SecretPattern): ScanRule {
  const known = PATTERN_RULES[pattern.type];
  if (known) return { ...known, level: 'error' };
  return {
    id: `${pattern.type}-secret`,
    kind: pattern.type,
    title: `${pattern.type} secret`,
    description: `A ${pattern.type} secret (pattern from @keywarden/core).`,
    level: 'error',
  };
}

/** A core pattern with its rule, in core's order (which is also the order of precedence). */
export interface PatternRule {
  readonly pattern: SecretPattern;
  readonly rule: ScanRule;
}

export const PATTERN_RULE_LIST: readonly PatternRule[] = Object.freeze(
  SECRET_PATTERNS.map((pattern) => Object.freeze({ pattern, rule: ruleForPattern(pattern) })),
);

/** Every rule the scanner can report, for SARIF's `tool.driver.rules` and the docs. */
export const SCAN_RULES: readonly ScanRule[] = Object.freeze([
  KEYWARDEN_RULE,
  ...PATTERN_RULE_LIST.map((p) => p.rule),
  GENERIC_ASSIGNMENT_RULE,
  GENERIC_BEARER_RULE,
]);

/** Whether core describes this type: used by the test that keeps this catalogue complete. */
export function isDescribedPatternType(type: string): boolean {
  return type in PATTERN_RULES;
}
