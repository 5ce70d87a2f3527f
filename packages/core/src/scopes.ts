/**
 * Scopes: `resource:level`. Levels are ordered `read < write < admin` and a higher level implies
 * the lower ones; resource `*` covers every resource; a bare level means `*:level`. Resources
 * nest with `/`: `openai:write` covers `openai/chat.completions:write`.
 *
 * Everything here fails closed: text that does not parse grants nothing and is never satisfied.
 */

export const SCOPE_LEVELS = ['read', 'write', 'admin'] as const;
export type ScopeLevel = (typeof SCOPE_LEVELS)[number];

export interface Scope {
  resource: string;
  level: ScopeLevel;
}

const WILDCARD = '*';
/** Longer strings are rejected before any other work. */
const MAX_SCOPE_LENGTH = 128;
const RESOURCE_PATTERN = /^[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)*$/;
// A Map rather than an object: `get` of an unknown level (e.g. '__proto__') is plainly undefined.
const LEVEL_RANK = new Map<string, number>(SCOPE_LEVELS.map((level, rank) => [level, rank]));

function isResource(text: string): boolean {
  return text === WILDCARD || RESOURCE_PATTERN.test(text);
}

function isLevel(text: string): text is ScopeLevel {
  return LEVEL_RANK.has(text);
}

/** `openai:write` → `{ resource: 'openai', level: 'write' }`; `read` → `{ resource: '*', … }`. */
export function parseScope(text: string): Scope | null {
  if (typeof text !== 'string' || text.length === 0 || text.length > MAX_SCOPE_LENGTH) return null;
  if (isLevel(text)) return { resource: WILDCARD, level: text };
  const colon = text.indexOf(':');
  if (colon === -1) return null;
  const resource = text.slice(0, colon);
  const level = text.slice(colon + 1);
  // A second ':' lands in `level` and fails the level check.
  if (!isLevel(level) || !isResource(resource)) return null;
  return { resource, level };
}

export function isValidScope(text: string): boolean {
  return parseScope(text) !== null;
}

/** Canonical text: the wildcard resource is written as the bare level (`*:read` → `read`). */
export function formatScope(scope: Scope): string {
  return scope.resource === WILDCARD ? scope.level : `${scope.resource}:${scope.level}`;
}

// For scopes known to come from parseScope: no validation on the hot path.
function covers(granted: Scope, required: Scope): boolean {
  const grantedRank = LEVEL_RANK.get(granted.level);
  const requiredRank = LEVEL_RANK.get(required.level);
  if (grantedRank === undefined || requiredRank === undefined || grantedRank < requiredRank) {
    return false;
  }
  const g = granted.resource;
  const r = required.resource;
  // The '/' boundary keeps `open` from covering `openai`.
  return (
    g === WILDCARD || g === r || (r.length > g.length && r.startsWith(g) && r[g.length] === '/')
  );
}

/** Whether `granted` allows what `required` asks for. Hand-built, invalid scopes cover nothing. */
export function scopeCovers(granted: Scope, required: Scope): boolean {
  if (!isResource(granted.resource) || !isResource(required.resource)) return false;
  return covers(granted, required);
}

// missingScopes runs on every request and sees the same few strings over and over, so parses
// are memoised. Bounded, because the required list can come from a request header: when full
// it is simply cleared, which keeps the code trivial and the memory flat.
const MEMO_LIMIT = 1024;
const memo = new Map<string, Scope | null>();

function parseMemoised(text: string): Scope | null {
  const cached = memo.get(text);
  if (cached !== undefined) return cached;
  const parsed = parseScope(text);
  if (typeof text === 'string' && text.length <= MAX_SCOPE_LENGTH) {
    if (memo.size >= MEMO_LIMIT) memo.clear();
    // Frozen, because the same object is handed to every later caller.
    memo.set(text, parsed === null ? null : Object.freeze(parsed));
  }
  return parsed;
}

function isCovered(granted: readonly string[], requiredText: string): boolean {
  const required = parseMemoised(requiredText);
  if (required === null) return false;
  for (const grantedText of granted) {
    const scope = parseMemoised(grantedText);
    if (scope !== null && covers(scope, required)) return true;
  }
  return false;
}

/**
 * The required scopes, as given, that no granted scope covers. Invalid granted scopes are
 * ignored; an invalid required scope is always missing.
 */
export function missingScopes(granted: readonly string[], required: readonly string[]): string[] {
  const missing: string[] = [];
  for (const requiredText of required) {
    if (!isCovered(granted, requiredText)) missing.push(requiredText);
  }
  return missing;
}

export function hasScopes(granted: readonly string[], required: readonly string[]): boolean {
  for (const requiredText of required) {
    if (!isCovered(granted, requiredText)) return false;
  }
  return true;
}

const LIST_SEPARATOR = /[\s,]+/;

/** Splits a header value such as `X-Keywarden-Scopes: keys:read, openai:write` into scopes. */
export function parseScopeList(text: string): string[] {
  if (typeof text !== 'string') return [];
  return text.split(LIST_SEPARATOR).filter((part) => part.length > 0);
}
