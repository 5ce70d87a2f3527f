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
    const detail =
      result.code === 'INSUFFICIENT_SCOPE'
        ? `this route needs the management scope ${scope}`
        : undefined;
    return sendProblem(
      reply,
      result.code as RejectionCode,
      detail,
      [],
      www ? { 'www-authenticate': www } : {},
    );
  };
}
