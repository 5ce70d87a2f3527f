import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Keywarden } from '../app/index.ts';
import type { Actor, RefusalLog } from '../audit/index.ts';
import { type RejectionCode, wwwAuthenticateFor } from '../verify/index.ts';
import { presentedKey } from './credentials.ts';
import { sendProblem } from './problem.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The management scope a route needs, e.g. `keys:write`; absent on public routes. */
    managementScope?: string;
  }
  interface FastifyRequest {
    actor: Actor | null;
  }
}

/**
 * Management routes are guarded by the same verification pipeline as everything else, with
 * management keys only and the route's scope required. A 403 goes to the refusal log: a
 * valid management key reaching for more than it may is worth a trace, but a bounded one
 * (audit/refusals.ts: the first refusal per key, route and window, then one aggregate row).
 */
export function managementAuth(kw: Keywarden, refusals: RefusalLog) {
  return async function requireManagementKey(request: FastifyRequest, reply: FastifyReply) {
    const scope = request.routeOptions.config.managementScope;
    if (!scope) return;
    const { key } = presentedKey(request, { allowQuery: false });
    const result = await kw.verifier.verify({
      key,
      kind: 'management',
      requiredScopes: [scope],
      clientIp: request.clientIp,
    });
    if (result.valid && result.key) {
      request.actor = {
        id: result.key.id,
        display: result.key.display,
        ip: request.clientIp,
        requestId: String(request.id),
      };
      return;
    }
    const www = wwwAuthenticateFor(result.code, result.missingScopes);
    if (result.key && (result.code === 'INSUFFICIENT_SCOPE' || result.code === 'IP_NOT_ALLOWED')) {
      await refusals.record({
        actorId: result.key.id,
        actorDisplay: result.key.display,
        route: `${request.method} ${request.routeOptions.url}`,
        code: result.code,
        required: scope,
        ip: request.clientIp,
        requestId: String(request.id),
      });
    }
    return sendProblem(
      reply,
      result.code as RejectionCode,
      managementRefusal(result.code, scope, request.routeOptions.url),
      [],
      www ? { 'www-authenticate': www } : {},
    );
  };
}

/**
 * What a refused management call is told. The management API is called with a management
 * key; a key being checked (the body of POST /v1/verify) or an API key in the header is not
 * one, and a bare "No API key was presented" misled callers who had sent a key.
 */
export function managementRefusal(
  code: string,
  scope: string,
  route: string | undefined,
): string | undefined {
  const send = 'send a management key (keywarden admin-key create) in Authorization: Bearer';
  switch (code) {
    case 'INSUFFICIENT_SCOPE':
      return `this route needs the management scope ${scope}`;
    case 'MISSING':
      return route === '/v1/verify'
        ? `no management key was presented: the key in the body is the one being checked; ${send}`
        : `no management key was presented: ${send}`;
    case 'NOT_FOUND':
      return `not a management key of this keywarden (an API key cannot call the management API): ${send}`;
    default:
      return undefined;
  }
}
