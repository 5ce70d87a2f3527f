import type { FastifyRequest } from 'fastify';

/**
 * Where a caller's key is read from, in order: `Authorization: Bearer`, `X-API-Key`, and the
 * `api_key` query parameter (accepted later only if the key's project allows it, since URLs
 * end up in logs).
 */
export interface PresentedKey {
  key: string | undefined;
  source: 'header' | 'query';
}

const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i;

export function presentedKey(
  request: Pick<FastifyRequest, 'headers' | 'query'>,
  options: { allowQuery: boolean },
): PresentedKey {
  const authorization = request.headers.authorization;
  if (authorization) {
    const match = BEARER.exec(authorization);
    if (match) return { key: match[1], source: 'header' };
  }
  const apiKey = request.headers['x-api-key'];
  if (typeof apiKey === 'string' && apiKey !== '') return { key: apiKey.trim(), source: 'header' };
  if (options.allowQuery) {
    const query = request.query as Record<string, unknown> | undefined;
    const value = query?.api_key;
    if (typeof value === 'string' && value !== '') return { key: value, source: 'query' };
  }
  return { key: undefined, source: 'header' };
}
