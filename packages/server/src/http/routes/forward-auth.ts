import { parseScopeList } from '@keywarden/core';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Keywarden } from '../../app/index.ts';
import { invalidField } from '../../errors/index.ts';
import { rateLimitHeaders } from '../../limiter/index.ts';
import { httpStatusFor, wwwAuthenticateFor } from '../../verify/index.ts';
import { presentedKey } from '../credentials.ts';
import { sendProblem } from '../problem.ts';

/**
 * Forward-auth for nginx `auth_request`, Traefik ForwardAuth and Envoy ext_authz: the edge
 * forwards the caller's headers, keywarden answers 200 (with the key's id in headers the edge
 * can pass on) or 401/403/429, and the edge lets the request through or not.
 *
 * What a route needs comes from, in order of authority:
 *   1. the query string of the auth URL the edge calls (`/v1/auth?scopes=billing:read&env=prod`),
 *      which is configuration, written by the operator;
 *   2. server defaults (KEYWARDEN_AUTH_SCOPES / KEYWARDEN_AUTH_ENV);
 *   3. `X-Keywarden-Scopes` / `X-Keywarden-Env` headers set by the edge.
 * Scopes from all three are required together (a client that forges the header can only ask
 * for more); the environment is taken from the first that names one, so a forged header
 * cannot move a route configured for `prod` to `dev`.
 */
interface AuthQuery {
  scopes?: string;
  env?: string;
  cost?: string;
}

const MAX_COST = 1_000_000;

function parseCost(where: string, text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const cost = Number(text);
  if (!/^\d+$/.test(text.trim()) || cost > MAX_COST) {
    throw invalidField(where, `must be an integer from 0 to ${MAX_COST}`);
  }
  return cost;
}

/**
 * The cost configured for the route (query, default 1); an `X-Keywarden-Cost` header may only
 * raise it, so a client forging the header cannot make its requests free.
 */
function requestCost(fromQuery: string | undefined, fromHeader: string | undefined): number {
  const configured = parseCost('querystring/cost', fromQuery) ?? 1;
  const asked = parseCost('headers/x-keywarden-cost', fromHeader);
  return asked === undefined ? configured : Math.max(configured, asked);
}

/** The request the edge is asking about, for the usage record: method and path, no query. */
function originalRoute(request: FastifyRequest): string {
  const method =
    headerValue(request, 'x-forwarded-method') ??
    headerValue(request, 'x-original-method') ??
    request.method;
  const uri =
    headerValue(request, 'x-original-uri') ??
    headerValue(request, 'x-forwarded-uri') ??
    (request.url.startsWith('/v1/auth/') ? request.url.slice('/v1/auth'.length) : '/');
  const path = uri.split('?', 1)[0] ?? '/';
  return `${method.slice(0, 10)} ${path}`.slice(0, 200);
}

function headerValue(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' ? value : undefined;
}

export function forwardAuthRoutes(kw: Keywarden): FastifyPluginAsync {
  const defaults = kw.config.forwardAuth;
  return async (app) => {
    // The edge may forward any method and a body; the verdict depends on headers only.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));

    const handler = async (request: FastifyRequest, reply: FastifyReply) => {
      const query = request.query as AuthQuery;
      const required = [
        ...(query.scopes ? parseScopeList(query.scopes) : []),
        ...defaults.scopes,
        ...parseScopeList(headerValue(request, 'x-keywarden-scopes') ?? ''),
      ];
      const env = query.env || defaults.env || headerValue(request, 'x-keywarden-env') || undefined;
      const cost = requestCost(query.cost, headerValue(request, 'x-keywarden-cost'));
      const { key, source } = presentedKey(request, { allowQuery: true });
      const result = await kw.verifier.verify({
        key,
        source,
        requiredScopes: required,
        env,
        clientIp: request.ip,
        cost,
        usage: {
          entryPoint: 'forward-auth',
          route: originalRoute(request),
          userAgent: headerValue(request, 'user-agent') ?? null,
        },
      });
      // Most keys have no limits: no headers to build, nothing to allocate.
      if (result.limits.length > 0 || result.retryAfterSeconds !== null) {
        reply.headers(rateLimitHeaders({ ...result, allowed: result.valid }));
      }
      if (result.valid && result.key) {
        reply.header('x-keywarden-key-id', result.key.id);
        reply.header('x-keywarden-project-id', result.key.projectId);
        reply.header('x-keywarden-env', result.key.env);
        if (result.key.ownerId)
          reply.header('x-keywarden-owner-id', encodeURIComponent(result.key.ownerId));
        return reply.code(httpStatusFor(result.code)).send();
      }
      const www = wwwAuthenticateFor(result.code, result.missingScopes);
      return sendProblem(
        reply,
        result.code as Exclude<typeof result.code, 'VALID'>,
        undefined,
        [],
        www ? { 'www-authenticate': www } : {},
      );
    };

    const schema = {
      tags: ['forward-auth'],
      summary: 'Forward-auth check for reverse proxies',
      hide: false,
    };
    app.all('/v1/auth', { schema }, handler);
    app.all('/v1/auth/*', { schema: { ...schema, hide: true } }, handler);
  };
}
