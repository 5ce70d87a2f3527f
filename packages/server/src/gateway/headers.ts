import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { LimitResult } from '../limiter/index.ts';

/**
 * Which headers cross the gateway. Toward the upstream: never the caller's credentials
 * (Authorization, X-API-Key, cookies), never hop-by-hop headers (RFC 9110 §7.6.1, and the
 * ones `Connection` names), never the caller's address (a third-party API has no need for
 * it), never a method override, and for OpenAI never an organisation or project header (those belong to the server's
 * key, not the caller's). Back to the caller: the upstream's answer minus hop-by-hop headers
 * and, for OpenAI, minus what identifies the server's OpenAI organisation.
 */
export const HOP_BY_HOP_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'trailers',
  'transfer-encoding',
  'upgrade',
]);

const NEVER_FORWARDED = new Set([
  'host',
  'content-length',
  'expect',
  'authorization',
  'x-api-key',
  'api-key',
  'cookie',
  'forwarded',
  'x-real-ip',
  // Some frameworks run the method named here instead of the request's: a GET, authorised
  // as a read, must not become a DELETE upstream.
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
]);

const OPENAI_ACCOUNT_HEADERS = new Set(['openai-organization', 'openai-project']);

function connectionTokens(value: string | string[] | undefined): Set<string> {
  const text = Array.isArray(value) ? value.join(',') : (value ?? '');
  return new Set(
    text
      .split(',')
      .map((token) => token.trim().toLowerCase())
      .filter(Boolean),
  );
}

export function upstreamRequestHeaders(
  incoming: IncomingHttpHeaders,
  options: { openai: boolean },
): Record<string, string | string[]> {
  const named = connectionTokens(incoming.connection);
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined) continue;
    if (HOP_BY_HOP_HEADERS.has(name) || named.has(name) || NEVER_FORWARDED.has(name)) continue;
    if (name.startsWith('x-forwarded-') || name.startsWith('x-keywarden-')) continue;
    if (options.openai && OPENAI_ACCOUNT_HEADERS.has(name)) continue;
    headers[name] = value;
  }
  // The gateway reads OpenAI's bodies (usage, errors): ask for them uncompressed.
  if (options.openai) headers['accept-encoding'] = 'identity';
  return headers;
}

export function callerResponseHeaders(
  upstream: Record<string, string | string[] | undefined>,
  options: { openai: boolean; bodyRewritten: boolean },
): OutgoingHttpHeaders {
  const named = connectionTokens(upstream.connection);
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(upstream)) {
    if (value === undefined || HOP_BY_HOP_HEADERS.has(name) || named.has(name)) continue;
    if (options.bodyRewritten && name === 'content-length') continue;
    if (options.openai && (OPENAI_ACCOUNT_HEADERS.has(name) || name === 'set-cookie')) continue;
    headers[name] = value;
  }
  return headers;
}

/** Seconds as OpenAI writes its reset times (Go durations): `0s`, `45s`, `6m0s`, `1h2m3s`. */
export function goDuration(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  if (h > 0) return `${h}h${m}m${rest}s`;
  if (m > 0) return `${m}m${rest}s`;
  return `${rest}s`;
}

/** The tightest limit: the one with the fewest requests (or tokens) left. */
function tightest(limits: readonly LimitResult[]): LimitResult | null {
  let best: LimitResult | null = null;
  for (const limit of limits) if (!best || limit.remaining < best.remaining) best = limit;
  return best;
}

/**
 * OpenAI's `x-ratelimit-*` headers from keywarden's own limits, so that clients written for
 * OpenAI (and the SDK) see the limits that apply to their key — not the server's OpenAI
 * organisation's, which would also tell them about everyone else's traffic.
 */
export function openaiRateLimitHeaders(
  requests: readonly LimitResult[],
  tokens: readonly LimitResult[],
): Record<string, string> {
  const headers: Record<string, string> = {};
  const r = tightest(requests);
  if (r) {
    headers['x-ratelimit-limit-requests'] = String(r.limit);
    headers['x-ratelimit-remaining-requests'] = String(r.remaining);
    headers['x-ratelimit-reset-requests'] = goDuration(r.resetSeconds);
  }
  const t = tightest(tokens);
  if (t) {
    headers['x-ratelimit-limit-tokens'] = String(t.limit);
    headers['x-ratelimit-remaining-tokens'] = String(t.remaining);
    headers['x-ratelimit-reset-tokens'] = goDuration(t.resetSeconds);
  }
  return headers;
}
