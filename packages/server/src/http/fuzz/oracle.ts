import type { FuzzRequest, FuzzResponse } from './client.ts';

/**
 * What every answer must be, whatever was asked: never a 5xx; every 4xx a problem+json with a
 * stable `code` (on an OpenAI-type upstream, OpenAI's `{ error: { message, type } }` instead,
 * which is what its SDKs parse); never a plaintext key or secret echoed back. Answers that the
 * echo upstream made itself (`x-served-by: echo`) pass through untouched and are not judged
 * beyond the status.
 *
 * Returns the broken rule as a short label (the survey groups failures by it), or null.
 */
export function judge(
  req: FuzzRequest,
  res: FuzzResponse,
  secrets: readonly string[],
): string | null {
  if (res.status >= 500) return `${res.status} answer`;
  for (const secret of secrets)
    if (res.body.includes(secret) || JSON.stringify(res.headers).includes(secret))
      return 'a plaintext key or secret echoed in the answer';
  if (res.headers['x-served-by'] === 'echo') return null;
  if (res.status < 400) return storedOddity(req, res);
  const type = String(res.headers['content-type'] ?? '');
  if (openaiUpstream(req.path)) {
    if (!type.startsWith('application/json'))
      return `${res.status} not OpenAI's error shape (${type || 'no type'})`;
    if (req.method === 'HEAD') return null;
    const body = parse(res.body) as { error?: { message?: unknown; type?: unknown } } | null;
    if (typeof body?.error?.message !== 'string' || typeof body.error.type !== 'string')
      return `${res.status} not OpenAI's error shape`;
    return null;
  }
  if (!type.startsWith('application/problem+json'))
    return `${res.status} not problem+json (${type || 'no type'})`;
  if (req.method === 'HEAD') return null;
  const body = parse(res.body) as { code?: unknown; status?: unknown } | null;
  if (typeof body?.code !== 'string') return `${res.status} problem+json without a code`;
  if (body.status !== undefined && body.status !== res.status)
    return `${res.status} problem+json saying status ${String(body.status)}`;
  return null;
}

/**
 * Whether the request reaches the OpenAI-type upstream: its path names it, however spelled.
 * The router decodes each segment (`/g%77/%6fpenai` is `/gw/openai`) but never splits on an
 * encoded slash (`/gw%2fopenai` is one segment), and so does this.
 */
export function openaiUpstream(path: string): boolean {
  const [, first, second] = (path.split('?')[0] ?? '').split('/').map((segment) => {
    try {
      return decodeURIComponent(segment);
    } catch {
      return segment;
    }
  });
  return first === 'gw' && second === 'openai';
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * A write that succeeded must not have stored a lone surrogate or a NUL: they are not text,
 * and they break every consumer downstream (logs, exports, other languages' JSON parsers).
 */
function storedOddity(req: FuzzRequest, res: FuzzResponse): string | null {
  if (!['POST', 'PUT', 'PATCH'].includes(req.method) || !req.path.startsWith('/v1/')) return null;
  let found: string | null = null;
  JSON.parse(res.body || 'null', (_key, value) => {
    if (typeof value === 'string' && !found) {
      if (LONE_SURROGATE.test(value)) found = 'a lone surrogate';
      else if (value.includes('\u0000')) found = 'a NUL';
    }
    return value;
  });
  return found ? `${res.status}: ${found} accepted into a stored string` : null;
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
