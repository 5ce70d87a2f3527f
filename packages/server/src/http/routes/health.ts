import type { FastifyPluginAsync } from 'fastify';
import type { Keywarden } from '../../app/index.ts';
import { sendProblem } from '../problem.ts';

/** Liveness says the process answers; readiness says it can verify keys (the store answers). */
export function healthRoutes(kw: Keywarden): FastifyPluginAsync {
  return async (app) => {
    app.get('/healthz', { schema: { tags: ['health'] } }, async () => ({ status: 'ok' }));
    app.get('/readyz', { schema: { tags: ['health'] } }, async (request, reply) => {
      try {
        await kw.store.ping();
        return { status: 'ready', store: kw.store.backend };
      } catch (error) {
        request.log.warn({ err: error }, 'readiness check failed: store unreachable');
        return sendProblem(reply, 'SERVICE_UNAVAILABLE', 'the store does not answer');
      }
    });
  };
}
