import type { FastifyPluginAsync } from 'fastify';
import type { Keywarden } from '../../app/index.ts';
import { FailoverRateLimiter } from '../../limiter/index.ts';
import { sendProblem } from '../problem.ts';

/**
 * Liveness says the process answers. Readiness says the node can verify keys: the store
 * answers. It also reports the parts a node can run without, degraded: the shared limiter
 * (`degraded` = Redis is down and the failure policy applies) and the invalidation channel
 * (`disconnected` = revocations from other nodes arrive only through the cache max age).
 * Upstreams stored before the host policy that it refuses are listed (docs/gateway.md).
 */
export function healthRoutes(kw: Keywarden): FastifyPluginAsync {
  const limiterState = () =>
    kw.limiter instanceof FailoverRateLimiter
      ? kw.limiter.degraded
        ? 'degraded'
        : 'shared'
      : 'local';
  const channelState = () => {
    const healthy = (kw.invalidation as { healthy?: boolean }).healthy;
    return healthy === undefined ? 'local' : healthy ? 'connected' : 'disconnected';
  };
  return async (app) => {
    app.get('/healthz', { schema: { tags: ['health'] } }, async () => ({ status: 'ok' }));
    app.get('/readyz', { schema: { tags: ['health'] } }, async (request, reply) => {
      try {
        await kw.store.ping();
        // Named, but still ready: one misplaced upstream must not take every key out of service.
        const refused = await kw.upstreams.refusedByHostPolicy().catch(() => []);
        return {
          status: 'ready',
          store: kw.store.backend,
          limiter: limiterState(),
          invalidation: channelState(),
          ...(refused.length > 0 ? { upstreamsRefusedByHostPolicy: refused } : {}),
        };
      } catch (error) {
        request.log.warn({ err: error }, 'readiness check failed: store unreachable');
        return sendProblem(reply, 'SERVICE_UNAVAILABLE', 'the store does not answer');
      }
    });
  };
}
