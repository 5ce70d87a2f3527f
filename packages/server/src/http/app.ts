import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Keywarden } from '../app/index.ts';
import { RefusalLog } from '../audit/index.ts';
import type { Logger } from '../log/index.ts';
import { answerClientError } from './client-error.ts';
import { captureClientIp } from './client-ip.ts';
import { registerJsonParser } from './json-body.ts';
import { managementAuth } from './management-auth.ts';
import { handleError, sendProblem } from './problem.ts';
import { requestIdFor } from './request-id.ts';
import { adminKeyRoutes } from './routes/admin-keys.ts';
import { auditRoutes } from './routes/audit.ts';
import { forwardAuthRoutes } from './routes/forward-auth.ts';
import { gatewayRoutes } from './routes/gateway.ts';
import { healthRoutes } from './routes/health.ts';
import { keyRoutes } from './routes/keys.ts';
import { leakRoutes } from './routes/leaks.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { ownerRoutes } from './routes/owners.ts';
import { projectRoutes } from './routes/projects.ts';
import { upstreamRoutes } from './routes/upstreams.ts';
import { usageRoutes } from './routes/usage.ts';
import { verifyRoutes } from './routes/verify.ts';
import { compileValidator } from './validator.ts';

export interface ManagementRoute {
  method: string;
  url: string;
  scope: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route guarded by a management scope: the auth test walks this list. */
    managementRoutes: ManagementRoute[];
  }
}

/** Routes on the verification hot path or polled by orchestrators: not logged per request. */
const QUIET_ROUTES = new Set([
  '/v1/auth',
  '/v1/auth/*',
  '/healthz',
  '/readyz',
  '/metrics',
  // The gateway meters every request in the usage store; its problems are logged as warnings.
  '/gw/:upstream',
  '/gw/:upstream/*',
]);

function trustProxy(trusted: string[]): boolean | string[] {
  return trusted.length > 0 ? trusted : false;
}

export async function buildHttpApp(kw: Keywarden, logger: Logger): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // Requests are logged by our onResponse hook, which skips the hot path.
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: trustProxy(kw.config.trustedProxies),
    bodyLimit: kw.config.bodyLimitBytes,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    requestIdHeader: false,
    genReqId: (req) => requestIdFor(req.headers['x-request-id']),
    // While closing, our onRequest hook answers 503 as problem+json (Fastify's is not).
    return503OnClosing: false,
    // Errors raised before routing (a URL that is not valid percent-encoding, a path segment
    // over the length limit): under /gw/ the gateway answers, in OpenAI's shape on an OpenAI
    // upstream.
    frameworkErrors: (error, request, reply) =>
      request.url.startsWith('/gw/')
        ? kw.gateway.answerError(error, request, reply)
        : handleError(error, request, reply),
    clientErrorHandler: answerClientError,
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.decorate('managementRoutes', [] as ManagementRoute[]);
  app.decorateRequest('actor', null);
  // Read the address once, as the request arrives: the request log and the usage events are
  // written after the answer, when the socket may be gone.
  captureClientIp(app);
  app.setValidatorCompiler(compileValidator);
  registerJsonParser(app);
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((_request, reply) => sendProblem(reply, 'ROUTE_NOT_FOUND'));
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onRequest', (_request, reply, done) => {
    if (!closing) return done();
    // Draining: a request that still arrives is sent elsewhere by its load balancer.
    reply.header('connection', 'close');
    sendProblem(reply, 'SERVICE_UNAVAILABLE', 'this node is shutting down');
  });
  // Management auth is attached to the routes that need it, so the hot path (/v1/auth) runs
  // no hook for it at all.
  const refusals = new RefusalLog({
    audit: kw.store.audit,
    clock: kw.clock,
    registry: kw.metrics.registry,
    logger,
  });
  app.addHook('onClose', () => refusals.close());
  const requireManagementKey = managementAuth(kw, refusals);
  app.addHook('onRoute', (route) => {
    const scope = route.config?.managementScope;
    if (!scope) return;
    route.onRequest = [requireManagementKey, ...[route.onRequest ?? []].flat()];
    for (const method of [route.method].flat()) {
      if (method !== 'HEAD') app.managementRoutes.push({ method, url: route.url, scope });
    }
  });
  app.addHook('onSend', (request, reply, payload, done) => {
    // A gateway answer keeps the upstream's request id (what its support asks for); ours is
    // in x-keywarden-request-id there.
    if (!reply.hasHeader('x-request-id')) reply.header('x-request-id', request.id);
    if (request.url.startsWith('/v1/')) reply.header('cache-control', 'no-store');
    done(null, payload);
  });
  app.addHook('onResponse', (request, reply, done) => {
    done();
    if (QUIET_ROUTES.has(request.routeOptions.url ?? '')) return;
    request.log.info(
      {
        req: request,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
        actor: request.actor?.id,
      },
      'request',
    );
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'keywarden',
        version: '0.1.0',
        description: 'Issue, verify, limit, meter, rotate and revoke API keys.',
      },
      components: {
        securitySchemes: {
          managementKey: {
            type: 'http',
            scheme: 'bearer',
            description: 'A keywarden management key',
          },
        },
      },
      security: [{ managementKey: [] }],
    },
  });

  await app.register(healthRoutes(kw));
  await app.register(metricsRoutes(kw));
  await app.register(forwardAuthRoutes(kw));
  await app.register(verifyRoutes(kw));
  await app.register(keyRoutes(kw));
  await app.register(projectRoutes(kw));
  await app.register(auditRoutes(kw));
  await app.register(ownerRoutes(kw));
  await app.register(adminKeyRoutes(kw));
  await app.register(leakRoutes(kw));
  await app.register(usageRoutes(kw.usageReports, kw.projects));
  await app.register(upstreamRoutes(kw));
  await app.register(gatewayRoutes(kw));
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.ready();
  return app as unknown as FastifyInstance;
}
