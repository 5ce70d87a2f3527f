import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Keywarden } from '../../app/index.ts';
import type { VerifyResult } from '../../verify/index.ts';
import { ErrorResponses, VerifyBody, VerifyResponse } from '../schemas.ts';

export function verifyResultToJson(result: VerifyResult) {
  const { key } = result;
  return {
    valid: result.valid,
    code: result.code,
    ...(key && {
      keyId: key.id,
      name: key.name,
      projectId: key.projectId,
      env: key.env,
      scopes: key.scopes,
      ownerId: key.ownerId,
      meta: key.meta,
      expiresAt: key.expiresAt === null ? null : new Date(key.expiresAt).toISOString(),
    }),
    ...(result.missingScopes.length > 0 && { missingScopes: result.missingScopes }),
    ...(result.limits.length > 0 && {
      ratelimits: result.limits.map((l) => ({
        name: l.name,
        subject: l.subject.startsWith('owner:') ? ('owner' as const) : ('key' as const),
        limit: l.limit,
        windowSeconds: l.windowSeconds,
        remaining: l.remaining,
        reset: l.resetSeconds,
      })),
    }),
    ...(result.credits && { credits: result.credits }),
    ...(result.retryAfterSeconds !== null && { retryAfter: result.retryAfterSeconds }),
  };
}

/**
 * The verify API: a backend asks whether a key its caller presented may do something.
 * It answers 200 with the verdict in the body; the caller's management key needs `verify:read`.
 * Without `ip`, a key with an IP allowlist is rejected: the check fails closed.
 */
export function verifyRoutes(kw: Keywarden): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/v1/verify',
      {
        config: { managementScope: 'verify:read' },
        schema: {
          tags: ['verify'],
          summary: 'Verify a key',
          body: VerifyBody,
          response: { 200: VerifyResponse, ...ErrorResponses },
        },
      },
      async (request) => {
        const { key, scopes, env, ip, cost } = request.body;
        const result = await kw.verifier.verify({
          key,
          requiredScopes: scopes,
          env,
          clientIp: ip ?? null,
          source: 'body',
          cost,
          usage: { entryPoint: 'verify', userAgent: request.headers['user-agent'] ?? null },
        });
        return verifyResultToJson(result);
      },
    );
  };
}
