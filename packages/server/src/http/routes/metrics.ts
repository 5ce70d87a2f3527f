import type { FastifyPluginAsync } from 'fastify';
import type { Keywarden } from '../../app/index.ts';

/**
 * Prometheus metrics. Guarded by the `metrics:read` management scope unless
 * KEYWARDEN_METRICS_PUBLIC=true (for scrapers on a private network); Prometheus can send the
 * management key as a bearer token (`authorization: { credentials_file: … }`).
 */
export function metricsRoutes(kw: Keywarden): FastifyPluginAsync {
  return async (app) => {
    app.get(
      '/metrics',
      {
        config: kw.config.metricsPublic ? {} : { managementScope: 'metrics:read' },
        schema: { tags: ['health'], summary: 'Prometheus metrics' },
      },
      async (_request, reply) => {
        reply.type(kw.metrics.registry.contentType);
        return kw.metrics.registry.metrics();
      },
    );
  };
}
