import type { FastifyError, FastifyPluginAsync } from 'fastify';
import type { Keywarden } from '../../app/index.ts';

/**
 * `/gw/{upstream}/…`: every method, any body. Bodies are not parsed here: the gateway reads an
 * OpenAI JSON body itself (bounded by KEYWARDEN_GATEWAY_BODY_LIMIT) and streams every other
 * body to the upstream untouched.
 */
export function gatewayRoutes(kw: Keywarden): FastifyPluginAsync {
  return async (app) => {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
    // Fastify refuses an unparsable Content-Type before the handler runs; on an OpenAI
    // upstream that refusal, like every other, is in OpenAI's error shape.
    app.setErrorHandler((error: FastifyError, request, reply) =>
      kw.gateway.answerError(error, request, reply),
    );
    const handler = kw.gateway.handle.bind(kw.gateway);
    const options = { schema: { hide: true }, logLevel: 'warn' as const };
    app.all('/gw/:upstream', options, handler);
    app.all('/gw/:upstream/*', options, handler);
  };
}
