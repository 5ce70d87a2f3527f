import { ENV_PATTERN, isValidScope } from '@keywarden/core';
import { invalidField } from '../errors/index.ts';
import { HOP_BY_HOP_HEADERS } from '../gateway/index.ts';
import { MODEL_PATTERN, moneyMicros } from '../keys/index.ts';
import type { ModelPrice, UpstreamRoute, UpstreamTimeouts, UpstreamType } from '../store/index.ts';

/**
 * Checks on upstream settings, each failing with a 400 that names its field. Messages never
 * echo a value that could hold a secret (a URL with credentials, the secret itself).
 */
export const UPSTREAM_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const UPSTREAM_TYPES: readonly UpstreamType[] = ['openai', 'http'];
export const ROUTE_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', '*'];
export const MAX_ROUTES = 200;
export const MAX_ENVIRONMENTS = 20;
export const MAX_SECRET_LENGTH = 4096;
export const MAX_TIMEOUT_MS = 3_600_000;
/** A million currency units per million tokens: far above any real price. */
export const MAX_PRICE_PER_MTOK = 1_000_000;

export const DEFAULT_TIMEOUTS: UpstreamTimeouts = {
  connectMs: 5_000,
  headersMs: 300_000,
  bodyMs: 300_000,
};
export const DEFAULT_AUTH_HEADER = 'authorization';
export const DEFAULT_AUTH_SCHEME = 'Bearer';

/** RFC 9110 `token`: header names and auth schemes. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/;
/** Connection-level headers a proxy must not forward, and headers the gateway sets itself. */
const RESERVED_HEADERS = new Set([...HOP_BY_HOP_HEADERS, 'host', 'content-length']);
/** Visible ASCII and space: what an HTTP header value can carry safely. */
const SECRET = /^[\x20-\x7e]+$/;
const PATH_SEGMENT = /^[A-Za-z0-9._~!$&'()+,;=:@%-]+$/;

export function validateUpstreamName(name: string): void {
  if (!UPSTREAM_NAME_PATTERN.test(name))
    throw invalidField('/name', 'must match [a-z0-9][a-z0-9-]{0,62}');
}

export function validateUpstreamType(type: string): asserts type is UpstreamType {
  if (!(UPSTREAM_TYPES as readonly string[]).includes(type))
    throw invalidField('/type', `must be one of ${UPSTREAM_TYPES.join(', ')}`);
}

/**
 * An absolute http(s) URL without credentials, query or fragment → its canonical form without
 * a trailing `/` (`https://API.example.com/v1/` → `https://api.example.com/v1`).
 */
export function normalizeBaseUrl(text: string): string {
  const field = '/baseUrl';
  // new URL() would silently drop surrounding whitespace and embedded tabs or newlines.
  if (/\s/.test(text) || hasControlCharacter(text))
    throw invalidField(field, 'must not contain whitespace or control characters');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalidField(field, 'must be an absolute http:// or https:// URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw invalidField(field, 'must be an absolute http:// or https:// URL');
  if (url.username !== '' || url.password !== '' || /^[a-z]+:\/\/[^/]*@/i.test(text))
    throw invalidField(
      field,
      'must not carry credentials (user:password@): set the upstream secret with `secret` instead, which is stored encrypted',
    );
  if (/[?#]/.test(text)) throw invalidField(field, 'must not have a query string or fragment');
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
}

function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/** 1–4096 visible ASCII characters (spaces allowed), no CR, LF or other control characters. */
export function validateSecret(secret: string): void {
  if (secret.length === 0 || secret.length > MAX_SECRET_LENGTH || !SECRET.test(secret))
    throw invalidField(
      '/secret',
      `must be 1–${MAX_SECRET_LENGTH} printable ASCII characters, without CR, LF or other control characters`,
    );
}

/** A header name, lower-cased; hop-by-hop headers, `host` and `content-length` are refused. */
export function normalizeAuthHeader(name: string): string {
  const lower = name.toLowerCase();
  if (!TOKEN.test(lower)) throw invalidField('/authHeader', 'must be an HTTP header name');
  if (RESERVED_HEADERS.has(lower))
    throw invalidField(
      '/authHeader',
      `${lower} is set by the gateway itself and cannot carry the secret`,
    );
  return lower;
}

export function validateAuthScheme(scheme: string | null): void {
  if (scheme !== null && !TOKEN.test(scheme))
    throw invalidField('/authScheme', 'must be an HTTP auth scheme (a token, e.g. Bearer) or null');
}

export function validateEnvironments(envs: readonly string[] | null): void {
  if (envs === null) return;
  if (envs.length === 0 || envs.length > MAX_ENVIRONMENTS)
    throw invalidField(
      '/environments',
      `must hold 1–${MAX_ENVIRONMENTS} environments, or be null for any`,
    );
  envs.forEach((env, i) => {
    if (!ENV_PATTERN.test(env)) throw invalidField(`/environments/${i}`, 'must match [a-z]{2,10}');
  });
  if (new Set(envs).size !== envs.length) throw invalidField('/environments', 'must not repeat');
}

/** Fills what is not given from `base` (the defaults on create, the current value on update). */
export function mergeTimeouts(
  base: UpstreamTimeouts,
  given: Partial<UpstreamTimeouts> | undefined,
): UpstreamTimeouts {
  const timeouts = { ...base, ...given };
  for (const name of ['connectMs', 'headersMs', 'bodyMs'] as const) {
    const ms = timeouts[name];
    if (!Number.isSafeInteger(ms) || ms < 1 || ms > MAX_TIMEOUT_MS)
      throw invalidField(`/timeouts/${name}`, `must be an integer from 1 to ${MAX_TIMEOUT_MS}`);
  }
  return { connectMs: timeouts.connectMs, headersMs: timeouts.headersMs, bodyMs: timeouts.bodyMs };
}

/**
 * `POST /v1/things/**` → `things:write`: a method (or `*`), a path of literal segments, `*`
 * (one segment) and a final `**` (the rest), and the scope a key needs for it.
 */
export function validateRoutes(routes: readonly UpstreamRoute[]): UpstreamRoute[] {
  if (routes.length > MAX_ROUTES)
    throw invalidField('/routes', `must hold at most ${MAX_ROUTES} routes`);
  return routes.map((route, i) => {
    const method = route.method.toUpperCase();
    if (!ROUTE_METHODS.includes(method))
      throw invalidField(`/routes/${i}/method`, `must be one of ${ROUTE_METHODS.join(' ')}`);
    if (!isValidRoutePath(route.path))
      throw invalidField(
        `/routes/${i}/path`,
        'must start with /, with non-empty segments; a segment may be * (one segment), and the last one ** (the rest)',
      );
    if (!isValidScope(route.scope))
      throw invalidField(`/routes/${i}/scope`, 'must be a scope (resource:read|write|admin)');
    return { method, path: route.path, scope: route.scope };
  });
}

function isValidRoutePath(path: string): boolean {
  if (path.length > 512 || !path.startsWith('/')) return false;
  if (path === '/') return true;
  const segments = path.slice(1).split('/');
  return segments.every(
    (segment, i) =>
      segment === '*' ||
      (segment === '**' && i === segments.length - 1) ||
      PATH_SEGMENT.test(segment),
  );
}

/** Per-model prices as the API takes them: currency units per million tokens. */
export interface PriceInput {
  input: number;
  output: number;
}

const pointer = (text: string) => text.replace(/~/g, '~0').replace(/\//g, '~1');

export function pricesFrom(prices: Record<string, PriceInput>): Record<string, ModelPrice> {
  const stored: Record<string, ModelPrice> = {};
  for (const [model, price] of Object.entries(prices)) {
    const field = `/prices/${pointer(model)}`;
    if (!MODEL_PATTERN.test(model))
      throw invalidField(field, 'a model name must match [A-Za-z0-9._:/*-]{1,128}');
    stored[model] = {
      inputMicrosPerMTok: moneyMicros(`${field}/input`, price.input, MAX_PRICE_PER_MTOK),
      outputMicrosPerMTok: moneyMicros(`${field}/output`, price.output, MAX_PRICE_PER_MTOK),
    };
  }
  return stored;
}

/** `…wxyz` for secrets long enough that 4 characters give nothing useful away; else null. */
export function secretHint(secret: string): string | null {
  return secret.length >= 12 ? `…${secret.slice(-4)}` : null;
}
