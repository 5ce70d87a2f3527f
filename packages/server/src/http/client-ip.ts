import type { FastifyInstance, FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The client's address (behind trusted proxies, from `X-Forwarded-For`), read once when
     * the request arrived. Use it instead of `request.ip` anywhere that may run after the
     * answer: Fastify computes `ip` from the socket on every read, and once the socket is
     * detached (a body streamed upstream and destroyed, a client gone) that read returns
     * nothing, or — with trusted proxies — throws.
     */
    clientIp: string | null;
  }
}

/** Fastify's `request.ip`, or null where the socket is already gone (never throws). */
export function readClientIp(request: FastifyRequest): string | null {
  try {
    return request.ip ?? null;
  } catch {
    return null;
  }
}

/** The captured address, or (a request the hook did not see) one read now. */
export function clientIpOf(request: FastifyRequest): string | null {
  return request.clientIp ?? readClientIp(request);
}

/** Captures every request's address as it arrives. Register before any route. */
export function captureClientIp(app: FastifyInstance): void {
  app.decorateRequest('clientIp', null);
  app.addHook('onRequest', (request, _reply, done) => {
    request.clientIp = readClientIp(request);
    done();
  });
}
