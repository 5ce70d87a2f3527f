import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Keywarden } from '../app/index.ts';
import { type Actor, auditEntry } from '../audit/index.ts';
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
 * management keys only and the route's scope required. A 403 is written to the audit log:
 * a valid management key reaching for more than it may is worth a trace.
 */
export function managementAuth(kw: Keywarden) {
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
    if (result.key && result.code === 'INSUFFICIENT_SCOPE') {
      const actor = {
        id: result.key.id,
        display: result.key.display,
        ip: request.clientIp,
        requestId: String(request.id),
      };
      await kw.store.audit.append(
        auditEntry(
          actor,
          kw.clock.now(),
          'auth.denied',
          { type: 'route', id: `${request.method} ${request.routeOptions.url}` },
          { required: scope },
          'denied',
        ),
      );
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
