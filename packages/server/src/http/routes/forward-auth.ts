import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { type ParsedUrlQuery, parse as parseQueryString } from 'node:querystring';
import { parseScopeList } from '@keywarden/core';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Keywarden } from '../../app/index.ts';
import { invalidField, KeywardenError } from '../../errors/index.ts';
import { rateLimitHeaders } from '../../limiter/index.ts';
import type { Logger } from '../../log/index.ts';
import {
  httpStatusFor,
  type RejectionCode,
  type VerifyRequest,
  type VerifyResult,
  wwwAuthenticateFor,
} from '../../verify/index.ts';
import { presentedKey } from '../credentials.ts';
import { clientAddress, type DirectHandler, serveDirectly } from '../direct-dispatch.ts';
import { type DirectHeaders, writeEmpty, writeProblem } from '../direct-reply.ts';
import { requestIdFor } from '../request-id.ts';

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
 *
 * The edge calls this on every request it lets through, so it is served straight from the
 * Node server (`direct-dispatch.ts`), without Fastify's per-request work; the Fastify route
 * runs the same handler for `inject()` and for URLs Fastify must decode first. The answers
 * are the ones Fastify would send (`direct-reply.ts`), and none is logged (a quiet route).
 */
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
 * What one request on this route spends. The cost is the operator's: `?cost=` in the auth URL
 * (default 1). An `X-Keywarden-Cost` header counts only where the operator opted in with a cap
 * (`?maxCost=` in the auth URL, else KEYWARDEN_AUTH_MAX_COST), because the edge passes the
 * client's own headers through unless told otherwise: a header any caller may send would let
 * one key drain the credits and limits its owner's other keys share. Even then it may only
 * raise the cost (a forged header cannot make requests free) and a header over the cap is
 * refused (400) rather than clamped, so that nothing is spent on it.
 *
 * Without the opt-in the header is ignored, not refused: a refusal would let any client turn
 * its own request into an error at the edge (nginx answers 500 for a 400), and the header
 * changes nothing anyway. The answer says so in `X-Keywarden-Cost-Ignored`.
 */
function requestCost(
  query: ParsedUrlQuery,
  defaultMaxCost: number | undefined,
  fromHeader: string | undefined,
): number {
  const configured = parseCost('querystring/cost', once(query, 'cost')) ?? 1;
  const maxCost = parseCost('querystring/maxCost', once(query, 'maxCost')) ?? defaultMaxCost;
  if (maxCost === undefined) return configured;
  const asked = parseCost('headers/x-keywarden-cost', fromHeader);
  if (asked === undefined) return configured;
  if (asked > maxCost) {
    throw invalidField('headers/x-keywarden-cost', `must be at most ${maxCost} on this route`);
  }
  return Math.max(configured, asked);
}

/** Whether the request carried an `X-Keywarden-Cost` header this route does not accept. */
function costHeaderIgnored(req: IncomingMessage, defaultMaxCost: number | undefined): boolean {
  const header = req.headers['x-keywarden-cost'];
  if (header === undefined || header === '' || defaultMaxCost !== undefined) return false;
  const maxCost = queryOf(req.url ?? '/').maxCost;
  return maxCost === undefined || maxCost === '';
}

const NO_QUERY: ParsedUrlQuery = Object.freeze(Object.create(null));

function queryOf(url: string): ParsedUrlQuery {
  const mark = url.indexOf('?');
  return mark === -1 ? NO_QUERY : parseQueryString(url.slice(mark + 1));
}

/**
 * A parameter of the auth URL that may appear once. The URL is the operator's configuration:
 * a repeated `env` or `cost` is a mistake to report, not a choice to guess.
 */
function once(query: ParsedUrlQuery, name: string): string | undefined {
  const value = query[name];
  if (Array.isArray(value)) throw invalidField(`querystring/${name}`, 'must be given once');
  return value;
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' ? value : undefined;
}

/** The request the edge is asking about, for the usage record: method and path, no query. */
function originalRoute(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const method =
    headerValue(req.headers, 'x-forwarded-method') ??
    headerValue(req.headers, 'x-original-method') ??
    req.method ??
    'GET';
  const uri =
    headerValue(req.headers, 'x-original-uri') ??
    headerValue(req.headers, 'x-forwarded-uri') ??
    (url.startsWith('/v1/auth/') ? url.slice('/v1/auth'.length) : '/');
  const mark = uri.indexOf('?');
  // Not cut here: the usage recorder redacts a route, then cuts it (usage/text.ts). Cut first,
  // a key across the cut would no longer be recognised, and its first 40 characters stored.
  return `${method.length > 10 ? method.slice(0, 10) : method} ${mark === -1 ? uri : uri.slice(0, mark)}`;
}

/**
 * The URLs Fastify would route here without decoding them first: `/v1/auth`, its query and
 * sub-paths (ignoreTrailingSlash), none with a `%` in the path (left to Fastify's decoding and
 * its 400 for a bad escape).
 */
export function isForwardAuthUrl(url: string): boolean {
  if (!url.startsWith('/v1/auth')) return false;
  if (url.length === 8) return true;
  const next = url.charCodeAt(8);
  if (next === 63 /* ? */) return true;
  if (next !== 47 /* / */) return false;
  const mark = url.indexOf('?');
  return !(mark === -1 ? url : url.slice(0, mark)).includes('%');
}

/** Answers one forward-auth request on Node's request and response; never throws. */
export function forwardAuthHandler(kw: Keywarden, logger: Logger): DirectHandler {
  const defaults = kw.config.forwardAuth;
  const clientIp = clientAddress(kw.config.trustedProxies);

  const verifyRequestFor = (req: IncomingMessage): VerifyRequest => {
    const { headers } = req;
    const query = queryOf(req.url ?? '/');
    const scopes = query.scopes;
    const fromHeader = parseScopeList(headerValue(headers, 'x-keywarden-scopes') ?? '');
    const required =
      scopes === undefined && defaults.scopes.length === 0
        ? fromHeader
        : [
            // Repeated, every occurrence counts: more required scopes is never less safe.
            ...(Array.isArray(scopes)
              ? scopes.flatMap(parseScopeList)
              : parseScopeList(scopes ?? '')),
            ...defaults.scopes,
            ...fromHeader,
          ];
    const env =
      once(query, 'env') || defaults.env || headerValue(headers, 'x-keywarden-env') || undefined;
    const cost = requestCost(query, defaults.maxCost, headerValue(headers, 'x-keywarden-cost'));
    const { key, source } = presentedKey({ headers, query }, { allowQuery: true });
    return {
      key,
      source,
      requiredScopes: required,
      env,
      clientIp: clientIp(req),
      cost,
      usage: {
        entryPoint: 'forward-auth',
        route: originalRoute(req),
        userAgent: headerValue(headers, 'user-agent') ?? null,
      },
    };
  };

  const answerError = (res: ServerResponse, requestId: string, error: unknown) => {
    if (error instanceof KeywardenError) {
      const headers: DirectHeaders = {};
      for (const [name, value] of Object.entries(error.headers))
        headers[name.toLowerCase()] = value;
      writeProblem(res, requestId, error, headers);
      return;
    }
    logger.error({ reqId: requestId, err: error }, 'unhandled error');
    writeProblem(res, requestId, { code: 'INTERNAL' });
  };
  const fail = (res: ServerResponse, requestId: string, error: unknown) => {
    if (!res.headersSent) answerError(res, requestId, error);
    else {
      logger.error({ reqId: requestId, err: error }, 'unhandled error');
      res.destroy();
    }
  };
  const answer = (
    req: IncomingMessage,
    res: ServerResponse,
    requestId: string,
    result: VerifyResult,
  ) => {
    try {
      answerVerdict(res, req.method, requestId, result, costHeaderIgnored(req, defaults.maxCost));
    } catch (error) {
      fail(res, requestId, error);
    }
  };

  // No closure is made per request on the synchronous path (a cached key): under tsx each
  // one costs a name definition as well as an allocation.
  return (req, res, requestId = requestIdFor(req.headers['x-request-id'])) => {
    let verdict: VerifyResult | Promise<VerifyResult>;
    try {
      verdict = kw.verifier.verifyNow(verifyRequestFor(req));
    } catch (error) {
      fail(res, requestId, error);
      return;
    }
    if (verdict instanceof Promise) {
      verdict.then(
        (result) => answer(req, res, requestId, result),
        (error: unknown) => fail(res, requestId, error),
      );
    } else answer(req, res, requestId, verdict);
  };
}

function answerVerdict(
  res: ServerResponse,
  method: string | undefined,
  requestId: string,
  result: VerifyResult,
  costIgnored: boolean,
): void {
  const headers: DirectHeaders = {};
  if (costIgnored) headers['x-keywarden-cost-ignored'] = 'not accepted on this route';
  // Most keys have no limits: no headers to build, nothing to allocate.
  if (result.limits.length > 0 || result.retryAfterSeconds !== null) {
    const limits = rateLimitHeaders({ ...result, allowed: result.valid });
    for (const [name, value] of Object.entries(limits)) headers[name.toLowerCase()] = value;
  }
  if (result.valid && result.key) {
    headers['x-keywarden-key-id'] = result.key.id;
    headers['x-keywarden-project-id'] = result.key.projectId;
    headers['x-keywarden-env'] = result.key.env;
    if (result.key.ownerId)
      headers['x-keywarden-owner-id'] = encodeURIComponent(result.key.ownerId);
    writeEmpty(res, method, httpStatusFor(result.code), requestId, headers);
    return;
  }
  const www = wwwAuthenticateFor(result.code, result.missingScopes);
  if (www) headers['www-authenticate'] = www;
  writeProblem(res, requestId, { code: result.code as RejectionCode }, headers);
}

export function forwardAuthRoutes(kw: Keywarden): FastifyPluginAsync {
  return async (app) => {
    const answer = forwardAuthHandler(kw, app.log as Logger);
    serveDirectly(app, isForwardAuthUrl, answer);

    // The edge may forward any method and a body; the verdict depends on headers only.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
    const handler = (request: FastifyRequest, reply: FastifyReply) => {
      reply.hijack();
      answer(request.raw, reply.raw, request.id);
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
