/**
 * The one redaction list. Loggers, error messages and audit entries all pass text through
 * `redactSecrets` (or `redactHeaderValue` / `redactUrl` when they know the structure), so that
 * adding a secret format here covers every output at once.
 *
 * Invariant, property-tested: a keywarden key, wherever it sits in the text and whatever
 * surrounds it, never survives — not even its random part. Every replaced span begins and ends
 * outside a run of word characters, so a key is either removed whole or left whole for the
 * final catch-all rule.
 */

import { checkKeyFormat, displayKey, isWellFormedKey, KEY_CANDIDATE_REGEX } from './key-format.ts';
import { PRIVATE_KEY_PATTERN, type SecretPattern, TOKEN_PATTERNS } from './secret-patterns.ts';

const REDACTED = '[REDACTED]';

/** Headers whose whole value is a credential (lower-case). */
export const SENSITIVE_HEADER_NAMES: readonly string[] = Object.freeze([
  'authorization',
  'proxy-authorization',
  'x-api-key',
  'cookie',
  'set-cookie',
  'x-keywarden-admin-key',
  // Azure OpenAI's key header: the gateway may forward to such upstreams.
  'api-key',
  'x-auth-token',
]);
const SENSITIVE_HEADERS = new Set(SENSITIVE_HEADER_NAMES);

/** Query, form and JSON field names whose values are redacted (compared case-insensitively). */
export const SECRET_PARAM_NAMES: readonly string[] = Object.freeze([
  'api_key',
  'apikey',
  'api-key',
  'key',
  'token',
  'access_token',
  'refresh_token',
  'id_token',
  'secret',
  'client_secret',
  'password',
]);
const SECRET_PARAMS = new Set(SECRET_PARAM_NAMES);
const PARAM_NAME_ALTERNATION = SECRET_PARAM_NAMES.map((name) =>
  name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
).join('|');

// Output of an earlier pass: left alone so that redacting twice changes nothing.
const ALREADY_REDACTED =
  /^(?:\[REDACTED(?::[a-z-]+)?\]|[a-z][a-z0-9]{1,11}_[a-z]{2,10}_…[0-9A-Za-z]{5})$/;

/** A credential found by its context (after `Bearer`, `api_key=` …) rather than by its shape. */
function redactCredential(token: string): string {
  if (ALREADY_REDACTED.test(token)) return token;
  // A confirmed keywarden key keeps its display form, which is safe and says which key it was.
  return isWellFormedKey(token) ? displayKey(token) : REDACTED;
}

interface Rule {
  /** The rule runs only if the text contains one of these. */
  readonly triggers: readonly string[];
  readonly apply: (text: string) => string;
}

// `scheme://user:password@` — database and Redis URLs end up in connection errors. Bounded
// repetitions keep the regex linear on adversarial input.
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]{0,31}:\/\/[^\s:/?#@]{0,256}:)[^\s/?#@]{1,256}@/gi;
// Header schemes as they appear in real requests. Lower-case `basic` is left out on purpose:
// it is common in prose ("basic usage") and rare as a scheme.
// The token class includes '…' so that a display form (`kw_prod_…uOupm`) is taken whole.
const AUTH_SCHEME_TOKEN = /\b(Bearer|bearer|BEARER|Basic|BASIC)(\s+)([A-Za-z0-9._~+/…-]+=*)/g;
// The value runs greedily over every word character, so it never ends inside a token.
const PARAM_VALUE = new RegExp(`\\b(${PARAM_NAME_ALTERNATION})=([^\\s&#;"'<>]+)`, 'gi');
// A JSON string value; an unterminated one runs to the end of the text (so the match never
// fails after scanning, which keeps the regex linear).
const JSON_VALUE = new RegExp(
  `("(?:${PARAM_NAME_ALTERNATION})"\\s*:\\s*")((?:[^"\\\\]|\\\\[\\s\\S])*)("|\\\\?$)`,
  'gi',
);
// Runs of word characters long enough to hold a key, and a key shape anywhere inside one.
const LONG_WORD = /[A-Za-z0-9_]{42,}/g;
const KEY_SHAPE_INSIDE = /[a-z][a-z0-9]{1,11}_[a-z]{2,10}_[0-9A-Za-z]{36}/;

function patternRule(pattern: SecretPattern): Rule {
  const label = `[REDACTED:${pattern.type}]`;
  return { triggers: pattern.triggers, apply: (text) => text.replace(pattern.regex, label) };
}

// Order matters. Private key blocks go first (their base64 would otherwise feed other rules);
// context rules run before the shape rules so that `Bearer <anything>` is caught whatever the
// token looks like; confirmed keywarden keys run before third-party shapes because a project
// prefix may collide with one (`sk_live_…`, `github_pat_…` are valid keywarden key shapes);
// the catch-all for unconfirmed key shapes comes last.
const RULES: readonly Rule[] = [
  patternRule(PRIVATE_KEY_PATTERN),
  {
    triggers: ['://'],
    apply: (text) => text.replace(URL_PASSWORD, `$1${REDACTED}@`),
  },
  {
    triggers: ['earer', 'EARER', 'Basic', 'BASIC'],
    apply: (text) =>
      text.replace(
        AUTH_SCHEME_TOKEN,
        (_match, scheme: string, space: string, token: string) =>
          `${scheme}${space}${redactCredential(token)}`,
      ),
  },
  {
    triggers: ['='],
    apply: (text) =>
      text.replace(
        PARAM_VALUE,
        (_match, name: string, value: string) => `${name}=${redactCredential(value)}`,
      ),
  },
  {
    triggers: ['"'],
    apply: (text) =>
      text.replace(
        JSON_VALUE,
        (_match, head: string, value: string, tail: string) =>
          `${head}${redactCredential(value)}${tail === '"' ? '"' : ''}`,
      ),
  },
  {
    triggers: ['_'],
    apply: (text) =>
      text.replace(KEY_CANDIDATE_REGEX, (candidate) => {
        const result = checkKeyFormat(candidate);
        return result.ok ? displayKey(result.key) : candidate;
      }),
  },
  ...TOKEN_PATTERNS.map(patternRule),
  {
    // Anything still shaped like a key — a bad checksum, or a key glued to other word
    // characters — looks like a secret: the whole word goes.
    triggers: ['_'],
    apply: (text) =>
      text.replace(LONG_WORD, (word) => (KEY_SHAPE_INSIDE.test(word) ? REDACTED : word)),
  },
];

/**
 * Replaces secrets in free text: keywarden keys (confirmed ones by their display form,
 * look-alikes by `[REDACTED]`), `Bearer`/`Basic` credentials, secret query/form/JSON values,
 * passwords in URLs, and third-party formats (`[REDACTED:<type>]`). Text containing none of
 * the rules' trigger substrings is returned as is.
 */
export function redactSecrets(text: string): string {
  let out = text;
  for (const rule of RULES) {
    for (const trigger of rule.triggers) {
      if (out.includes(trigger)) {
        out = rule.apply(out);
        break;
      }
    }
  }
  return out;
}

// Schemes kept in front of `[REDACTED]`. An allowlist, because whatever precedes the first
// space of an unknown value might itself be the secret.
const KNOWN_AUTH_SCHEMES = new Set([
  'basic',
  'bearer',
  'digest',
  'dpop',
  'gnap',
  'hoba',
  'mutual',
  'negotiate',
  'ntlm',
  'token',
  'apikey',
  'vapid',
  'aws4-hmac-sha256',
  'scram-sha-1',
  'scram-sha-256',
]);

/**
 * Redacts one HTTP header for logging. Credential headers lose their whole value (the
 * `Authorization` scheme is kept: `Bearer [REDACTED]`); other headers go through
 * `redactSecrets`.
 */
export function redactHeaderValue(name: string, value: string): string {
  const header = name.toLowerCase();
  if (!SENSITIVE_HEADERS.has(header)) return redactSecrets(value);
  if (header === 'authorization' || header === 'proxy-authorization') {
    const scheme = /^\s*([A-Za-z0-9-]+)\s/.exec(value)?.[1];
    if (scheme !== undefined && KNOWN_AUTH_SCHEMES.has(scheme.toLowerCase())) {
      return `${scheme} ${REDACTED}`;
    }
  }
  return REDACTED;
}

function isSecretParamName(rawName: string): boolean {
  let name = rawName;
  try {
    name = decodeURIComponent(rawName.replace(/\+/g, ' '));
  } catch {
    // Malformed percent-encoding: compare the raw name.
  }
  return SECRET_PARAMS.has(name.toLowerCase());
}

function redactParams(params: string): string {
  return params
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      if (eq !== -1 && isSecretParamName(pair.slice(0, eq))) {
        return `${pair.slice(0, eq)}=${REDACTED}`;
      }
      return redactSecrets(pair);
    })
    .join('&');
}

/**
 * Redacts a URL for logging: values of secret query and fragment parameters (names compared
 * after percent-decoding, case-insensitively), a password in the userinfo, and anything
 * `redactSecrets` finds in the path or in other parameters.
 */
export function redactUrl(url: string): string {
  const hashAt = url.indexOf('#');
  const beforeHash = hashAt === -1 ? url : url.slice(0, hashAt);
  const queryAt = beforeHash.indexOf('?');
  const base = queryAt === -1 ? beforeHash : beforeHash.slice(0, queryAt);
  let out = redactSecrets(base);
  if (queryAt !== -1) out += `?${redactParams(beforeHash.slice(queryAt + 1))}`;
  // OAuth's implicit flow puts `access_token=` in the fragment.
  if (hashAt !== -1) out += `#${redactParams(url.slice(hashAt + 1))}`;
  return out;
}
