import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Dispatcher } from 'undici';
import type { Clock } from '../clock/index.ts';
import { ERROR_CATALOGUE, type ErrorCode, type KeywardenError } from '../errors/index.ts';
import { clientIpOf } from '../http/client-ip.ts';
import { presentedKey } from '../http/credentials.ts';
import { classifyError, sendProblem } from '../http/problem.ts';
import {
  type BudgetRule,
  type LimitResult,
  type RateLimiter,
  type RateLimitRule,
  type Reservation,
  type ReserveDecision,
  rateLimitHeaders,
} from '../limiter/index.ts';
import type { Logger } from '../log/index.ts';
import type { KeyRecord, ModelPrice, OwnerRecord, ProjectRecord, Store } from '../store/index.ts';
import type { UsageRecorder } from '../usage/index.ts';
import type { RejectionCode, VerifyResult } from '../verify/index.ts';
import {
  effectiveKeyRules,
  keySubject,
  ownerSubject,
  rulesOfUnit,
  type Verifier,
  wwwAuthenticateFor,
} from '../verify/index.ts';
import { canonicalGatewayPath, httpRouteScope, openaiEndpoint, openaiScope } from './endpoints.ts';
import {
  callerResponseHeaders,
  openaiRateLimitHeaders,
  upstreamRequestHeaders,
} from './headers.ts';
import { modelAllowed } from './models.ts';
import {
  isRefusal,
  namesModel,
  openaiBodyShape,
  readOpenAIBody,
  runsUnseenModels,
} from './openai-body.ts';
import { openaiError } from './openai-errors.ts';
import { OpenAIStreamMeter, type TokenUsage, usageFromResponse } from './openai-usage.ts';
import { costMicros, type PriceTable } from './pricing.ts';
import { budgetRefusal, type ReservationFacts, unpricedModelRefusal } from './refusals.ts';
import type { ResolvedUpstream, UpstreamRegistry } from './registry.ts';
import { SseSplitter } from './sse.ts';
import { estimatePromptTokens, maxOutputTokens, tokensForText } from './tokens.ts';

/**
 * `/gw/{upstream}/…`: the one place a caller's request becomes an upstream request.
 *
 *   resolve upstream → scope of the route → read the body (OpenAI JSON only) → verify the key
 *   (the one pipeline: state, env, IP, scope, model allowlist, request limits, credits) →
 *   reserve tokens and budget → forward with the upstream's secret → stream the answer back,
 *   metering tokens → settle the reservation → one usage event.
 *
 * The caller's key never leaves this process: credentials are dropped from the forwarded
 * headers (headers.ts) and the upstream's own secret is added.
 */
export interface GatewayDeps {
  verifier: Verifier;
  limiter: RateLimiter;
  registry: UpstreamRegistry;
  prices: PriceTable;
  usage: UsageRecorder;
  store: Pick<Store, 'usage'>;
  clock: Clock;
  logger?: Logger;
  bodyLimitBytes: number;
  defaultMaxOutputTokens: number;
}

const UPSTREAM_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** Endpoints whose requests cost money by model: a budgeted key needs a priced model there. */
const PRICED_ENDPOINTS = new Set(['chat.completions', 'completions', 'embeddings', 'responses']);

/**
 * One request's life. What the usage event needs from the caller's request (address, user
 * agent, id) is copied here when the request arrives: the request object is never read after
 * the answer, when its socket may be gone (Fastify's `request.ip` behind trusted proxies then
 * throws, and did take the process down).
 */
interface Exchange {
  started: number;
  reply: FastifyReply;
  requestId: string;
  clientIp: string | null;
  userAgent: string | null;
  upstream: ResolvedUpstream | null;
  openai: boolean;
  route: string;
  verdict: VerifyResult | null;
}

interface Metering {
  model: string | null;
  price: ModelPrice | null;
  endpoint: string | null;
  estimatedIn: number;
  reservation: Reservation | null;
  tokenLimits: LimitResult[];
  /** A call to a priced endpoint with a model that has none: its cost is unknown. */
  unpriced: boolean;
}

export class Gateway {
  readonly #deps: GatewayDeps;

  constructor(deps: GatewayDeps) {
    this.#deps = deps;
  }

  /**
   * An error raised outside `handle` (Fastify refusing an unparsable Content-Type before the
   * handler runs, or anything `handle` threw): on an OpenAI upstream it is answered in
   * OpenAI's error shape like every other refusal there, so the SDKs raise their own error
   * classes; elsewhere as problem+json.
   */
  async answerError(
    error: FastifyError | KeywardenError,
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<FastifyReply> {
    const { code, detail, fieldErrors, headers } = classifyError(error, request);
    if (!(await this.#speaksOpenAI(request))) {
      return sendProblem(reply, code, detail, fieldErrors, headers);
    }
    if (headers) reply.headers(headers);
    return sendOpenAIError(reply, code, detail, { param: fieldErrors?.[0]?.field });
  }

  /** The upstream a path names; a name no upstream can have is not looked up. */
  #upstreamNamed(name: string): Promise<ResolvedUpstream | null> | null {
    return UPSTREAM_NAME.test(name) ? this.#deps.registry.get(name) : null;
  }

  async #speaksOpenAI(request: FastifyRequest): Promise<boolean> {
    // Before routing (a framework error) there are no params yet: the name is in the URL.
    const name =
      (request.params as { upstream?: string } | undefined)?.upstream ??
      request.url.split(/[/?]/, 3)[2] ??
      '';
    try {
      return (await this.#upstreamNamed(name))?.record.type === 'openai';
    } catch {
      return false; // the store is failing: the problem+json answer says enough
    }
  }

  async handle(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const userAgent = request.headers['user-agent'];
    const exchange: Exchange = {
      started: performance.now(),
      reply,
      requestId: String(request.id),
      clientIp: clientIpOf(request),
      userAgent: typeof userAgent === 'string' ? userAgent : null,
      upstream: null,
      openai: false,
      // Redacted, then cut, by the usage recorder (cut first, a key across the cut would stay).
      route: `${request.method} ${request.url.split('?', 1)[0]}`,
      verdict: null,
    };
    const name = (request.params as { upstream: string }).upstream;
    const upstream = await this.#upstreamNamed(name);
    if (!upstream) {
      drain(request.raw);
      return this.#refuse(exchange, 'ROUTE_NOT_FOUND', `no upstream named "${name}"`);
    }
    exchange.upstream = upstream;
    exchange.openai = upstream.record.type === 'openai';

    const prefix = `/gw/${name}`;
    const [rawPath = '', query = ''] = splitOnce(request.url.slice(prefix.length), '?');
    // The scope is decided on these segments, and the upstream receives their one canonical
    // spelling (`path`): never a decision on one spelling and another forwarded.
    const checked = canonicalGatewayPath(rawPath);
    if ('refused' in checked) {
      drain(request.raw);
      return this.#refuse(exchange, 'VALIDATION_FAILED', checked.refused, 'path');
    }
    const { segments } = checked;
    const method = request.method;
    const endpoint = exchange.openai ? openaiEndpoint(segments) : null;
    const scope = exchange.openai
      ? openaiScope(name, method, segments)
      : httpRouteScope(name, upstream.record.routes, method, segments);
    if (exchange.openai && scope === null) {
      drain(request.raw);
      return this.#refuse(exchange, 'ROUTE_NOT_FOUND', 'no OpenAI endpoint at this path');
    }

    // An OpenAI body is understood or refused, whatever content type it claims (openai-body.ts):
    // the model is checked and priced, streams asked for usage. Other bodies stream through.
    let body: Buffer | null = null;
    let bodyType: string | null = null;
    let json: Record<string, unknown> | null = null;
    let bodyModel: string | null = null;
    const hasBody = method !== 'GET' && method !== 'HEAD' && bodyAnnounced(request.raw);
    const shape = exchange.openai ? openaiBodyShape(segments) : 'opaque';
    if (hasBody && shape !== 'opaque') {
      const read = await readOpenAIBody(request.raw, shape, this.#deps.bodyLimitBytes);
      if (isRefusal(read)) {
        if (read.refused === 'PAYLOAD_TOO_LARGE') reply.header('connection', 'close');
        drain(request.raw);
        return this.#refuse(exchange, read.refused, read.detail, read.param);
      }
      ({ body, json, model: bodyModel } = read);
      bodyType = read.contentType;
    }
    const streamsBody = hasBody && shape === 'opaque';
    const model =
      bodyModel ??
      (endpoint === 'models' && segments.length > (segments[0] === 'v1' ? 2 : 1)
        ? (segments.at(-1) ?? null)
        : null);
    const price = model ? this.#deps.prices.priceOf(model, upstream.record.prices) : null;
    const needsPrice = method === 'POST' && endpoint !== null && PRICED_ENDPOINTS.has(endpoint);

    const { key, source } = presentedKey(request, { allowQuery: true });
    const verdict = await this.#deps.verifier.verify({
      key,
      source,
      requiredScopes: scope ? [scope] : [],
      env: upstream.record.environments,
      clientIp: exchange.clientIp,
      cost: 1,
      authorize: (found) =>
        authorizeRequest(found, {
          scope,
          model,
          priced: price !== null,
          needsPrice,
          namesModel: exchange.openai && namesModel(method, segments),
          runsUnseenModels: exchange.openai && runsUnseenModels(method, segments),
        }),
      usage: { entryPoint: 'gateway', deferred: true },
    });
    exchange.verdict = verdict;
    if (!verdict.valid) {
      drain(request.raw);
      // A budgeted key refused for a model without a price is told that, and how to add one.
      const unpricedForBudget =
        verdict.code === 'MODEL_NOT_ALLOWED' &&
        needsPrice &&
        !price &&
        Boolean(verdict.key?.budgets?.length) &&
        (model === null || modelAllowed(verdict.key?.models ?? null, model));
      return this.#refuse(
        exchange,
        verdict.code as RejectionCode,
        unpricedForBudget ? unpricedModelRefusal(model, name) : undefined,
      );
    }

    // Token limits and budgets: reserve an estimate now, settle with the real count later.
    const metering: Metering = {
      model,
      price,
      endpoint,
      estimatedIn: 0,
      reservation: null,
      tokenLimits: [],
      unpriced: needsPrice && !price,
    };
    if (exchange.openai && verdict.key && verdict.project) {
      const { ownerId } = verdict.key;
      const owner = ownerId ? await this.#deps.verifier.ownerOf(ownerId) : null;
      const tokenLimits = tokenRules(verdict.key, verdict.project, owner);
      const budgets = budgetRules(verdict.key, owner);
      if (budgets.length > 0 && needsPrice && !price) {
        drain(request.raw);
        return this.#refuse(exchange, 'MODEL_NOT_ALLOWED', unpricedModelRefusal(model, name));
      }
      metering.estimatedIn = json ? estimatePromptTokens(json) : 0;
      if (tokenLimits.length > 0 || budgets.length > 0) {
        const estimatedOut = json
          ? maxOutputTokens(json, endpoint ?? '', this.#deps.defaultMaxOutputTokens)
          : 0;
        const reserved: ReservationFacts = {
          costMicros: price ? costMicros(price, metering.estimatedIn, estimatedOut) : 0,
          outputTokens: estimatedOut,
          defaultOutput: json !== null && maxOutputTokens(json, endpoint ?? '', 0) === 0,
        };
        const decision = await this.#deps.limiter.reserve({
          tokenLimits,
          tokens: metering.estimatedIn + estimatedOut,
          budgets,
          costMicros: reserved.costMicros,
          loadSpent: (subject, rule, periodStartMs) =>
            this.#spentSince(subject, rule, periodStartMs),
        });
        metering.tokenLimits = decision.tokenLimits;
        if (!decision.allowed) {
          drain(request.raw);
          return this.#refuseReservation(exchange, decision, reserved);
        }
        metering.reservation = decision.reservation;
      }
    }

    // A stream gets its usage from OpenAI only when asked: ask, and hide the answer if the
    // client did not ask itself.
    let injectedUsage = false;
    if (
      json &&
      json.stream === true &&
      (endpoint === 'chat.completions' || endpoint === 'completions')
    ) {
      const options = (json.stream_options ?? {}) as Record<string, unknown>;
      if (options.include_usage !== true) {
        json.stream_options = { ...options, include_usage: true };
        body = Buffer.from(JSON.stringify(json));
        injectedUsage = true;
      }
    }

    const headers = upstreamRequestHeaders(request.headers, { openai: exchange.openai });
    if (upstream.credential) headers[upstream.credential[0]] = upstream.credential[1];
    if (!exchange.openai && verdict.key) {
      headers['x-keywarden-key-id'] = verdict.key.id;
      if (verdict.key.ownerId)
        headers['x-keywarden-owner-id'] = encodeURIComponent(verdict.key.ownerId);
    }
    if (body) {
      // The body the gateway read and checked, in the form it was read: its type is ours.
      headers['content-length'] = String(body.length);
      if (bodyType) headers['content-type'] = bodyType;
      delete headers['content-encoding'];
    } else if (streamsBody && request.headers['content-length'])
      headers['content-length'] = request.headers['content-length'];
    else if (!streamsBody) delete headers['content-type'];

    const abort = new AbortController();
    const onClose = () => {
      if (!reply.raw.writableFinished) abort.abort();
    };
    reply.raw.once('close', onClose);

    let response: Dispatcher.ResponseData;
    try {
      response = await upstream.pool.request({
        path: upstreamPath(upstream, checked.path) + withoutApiKey(query, source === 'query'),
        method: method as Dispatcher.HttpMethod,
        headers,
        body: body ?? (streamsBody ? request.raw : null),
        signal: abort.signal,
      });
    } catch (error) {
      void this.#settle(metering, null);
      if (abort.signal.aborted) return this.#clientGone(exchange);
      const timeout = isTimeout(error);
      this.#deps.logger?.warn(
        { err: error, upstream: name },
        timeout ? 'upstream timed out' : 'upstream unreachable',
      );
      return this.#refuse(exchange, timeout ? 'UPSTREAM_TIMEOUT' : 'UPSTREAM_UNAVAILABLE');
    }

    const limitHeaders = this.#limitHeaders(exchange, verdict, metering);
    const contentType = String(response.headers['content-type'] ?? '');
    const ok = response.statusCode >= 200 && response.statusCode < 300;
    reply.code(response.statusCode);
    reply.header('x-keywarden-request-id', String(request.id));

    if (exchange.openai && ok && contentType.startsWith('text/event-stream')) {
      reply.headers(callerResponseHeaders(response.headers, { openai: true, bodyRewritten: true }));
      reply.headers(limitHeaders);
      return this.#stream(exchange, metering, response, injectedUsage, abort);
    }
    if (exchange.openai && contentType.includes('json')) {
      let text: Buffer;
      try {
        text = Buffer.from(await response.body.arrayBuffer());
      } catch (error) {
        // Cut before the whole answer arrived: nothing usable reached the caller.
        void this.#settle(metering, null);
        this.#deps.logger?.warn({ err: error, upstream: name }, 'upstream answer cut');
        if (abort.signal.aborted) return this.#clientGone(exchange);
        return this.#refuse(exchange, 'UPSTREAM_UNAVAILABLE', 'the answer was cut');
      }
      const answer = ok ? this.#filterAnswer(text, verdict.key, metering) : text;
      // An answer without usage is metered by estimate; an error answer costs nothing.
      const metered = ok
        ? (usageFromResponse(parseJsonObject(answer)) ?? this.#estimate(metering, 0))
        : null;
      void this.#settle(metering, metered);
      reply.headers(
        callerResponseHeaders(response.headers, { openai: true, bodyRewritten: answer !== text }),
      );
      reply.headers(limitHeaders);
      this.#record(exchange, response.statusCode, metered, metering);
      return reply.send(answer);
    }
    // Anything else (generic upstreams, audio, files): passed through untouched.
    reply.headers(
      callerResponseHeaders(response.headers, { openai: exchange.openai, bodyRewritten: false }),
    );
    reply.headers(limitHeaders);
    const finished = () => {
      void this.#settle(metering, null);
      this.#record(exchange, response.statusCode, null, metering);
    };
    // After the answer: nothing here may throw into the event loop (recording is guarded).
    response.body.once('end', finished);
    response.body.once('error', finished);
    return reply.send(response.body);
  }

  /**
   * Streams SSE through the meter: each event leaves as soon as its last byte arrived. Written
   * to the socket directly (no intermediate stream, no framework pipe), with the upstream's
   * back-pressure passed on: a slow client slows the upstream read, not the gateway's memory.
   */
  #stream(
    exchange: Exchange,
    metering: Metering,
    response: Dispatcher.ResponseData,
    injectedUsage: boolean,
    abort: AbortController,
  ): void {
    const { reply } = exchange;
    const meter = new OpenAIStreamMeter({ stripUsage: injectedUsage });
    const splitter = new SseSplitter();
    const raw = reply.raw;
    reply.hijack();
    if (!reply.hasHeader('x-request-id')) reply.header('x-request-id', exchange.requestId);
    raw.writeHead(response.statusCode, reply.getHeaders() as OutgoingHttpHeaders);
    let done = false;
    const finish = (cut: boolean) => {
      if (done) return;
      done = true;
      const usage = meter.usage ?? this.#estimate(metering, tokensForText(meter.outputChars));
      void this.#settle(metering, usage);
      const status = cut ? (abort.signal.aborted ? 499 : 502) : response.statusCode;
      this.#record(exchange, status, usage, metering);
    };
    const send = (text: string) => {
      if (text !== '' && !raw.write(text)) {
        response.body.pause();
        raw.once('drain', () => response.body.resume());
      }
    };
    response.body.on('data', (chunk: Buffer) => {
      // The upstream's bytes are untrusted: a throw here would reach the event loop and end the
      // process. Whatever fails is a cut stream, metered by estimate.
      try {
        for (const block of splitter.push(chunk)) send(meter.event(block));
      } catch (error) {
        response.body.destroy(error as Error);
      }
    });
    response.body.once('end', () => {
      send(splitter.end());
      raw.end();
      finish(false);
    });
    response.body.once('error', (error) => {
      finish(true);
      if (!abort.signal.aborted)
        this.#deps.logger?.warn(
          { err: error, upstream: exchange.upstream?.record.name },
          'upstream stream cut',
        );
      // The caller must see a cut stream, not a clean end it would take for a whole answer.
      raw.destroy();
    });
    raw.once('close', () => {
      if (!done) response.body.destroy();
    });
  }

  /** The caller went away before the answer: nothing to send (499, as nginx logs it). */
  #clientGone(exchange: Exchange): void {
    this.#record(exchange, 499, null, null);
    exchange.reply.hijack();
  }

  /** `GET /v1/models` for a key with a model allowlist lists only the models it may use. */
  #filterAnswer(answer: Buffer, key: KeyRecord | null, metering: Metering): Buffer {
    if (!key?.models || metering.endpoint !== 'models' || metering.model !== null) return answer;
    const list = parseJsonObject(answer);
    if (!list || !Array.isArray(list.data)) return answer;
    list.data = list.data.filter(
      (model: { id?: unknown }) =>
        typeof model?.id === 'string' && modelAllowed(key.models, model.id),
    );
    return Buffer.from(JSON.stringify(list));
  }

  #estimate(metering: Metering, outputTokens: number): TokenUsage {
    return { input: metering.estimatedIn, output: outputTokens };
  }

  /** Never awaited on the way to the caller: the answer does not wait for the limiter. */
  async #settle(metering: Metering, usage: TokenUsage | null): Promise<void> {
    const { reservation } = metering;
    if (!reservation) return;
    metering.reservation = null;
    const { price } = metering;
    try {
      await this.#deps.limiter.settle(reservation, {
        tokens: usage ? usage.input + usage.output : 0,
        costMicros: price && usage ? costMicros(price, usage.input, usage.output) : 0,
      });
    } catch (error) {
      this.#deps.logger?.error({ err: error }, 'settling a gateway reservation failed');
    }
  }

  #limitHeaders(
    exchange: Exchange,
    verdict: VerifyResult,
    metering: Metering,
  ): Record<string, string> {
    const headers: Record<string, string> = {};
    if (verdict.limits.length > 0)
      Object.assign(headers, rateLimitHeaders({ ...verdict, allowed: true }));
    if (exchange.openai && (verdict.limits.length > 0 || metering.tokenLimits.length > 0))
      Object.assign(headers, openaiRateLimitHeaders(verdict.limits, metering.tokenLimits));
    return headers;
  }

  #refuse(exchange: Exchange, code: ErrorCode, detail?: string, param?: string): FastifyReply {
    const { reply, verdict } = exchange;
    if (verdict && (verdict.limits.length > 0 || verdict.retryAfterSeconds !== null))
      reply.headers(rateLimitHeaders({ ...verdict, allowed: verdict.valid }));
    const www = wwwAuthenticateFor(code as RejectionCode, verdict?.missingScopes ?? []);
    if (www) reply.header('www-authenticate', www);
    this.#record(exchange, ERROR_CATALOGUE[code].status, null, null);
    if (!exchange.openai)
      return sendProblem(
        reply,
        code,
        detail,
        param ? [{ field: param, message: detail ?? '' }] : [],
      );
    if (verdict?.limits.length) reply.headers(openaiRateLimitHeaders(verdict.limits, []));
    const missing = verdict?.missingScopes.length
      ? `missing scope ${verdict.missingScopes.join(' ')}`
      : undefined;
    return sendOpenAIError(reply, code, detail ?? missing, { param });
  }

  #refuseReservation(
    exchange: Exchange,
    decision: ReserveDecision,
    reserved: ReservationFacts,
  ): FastifyReply {
    const { reply } = exchange;
    if (decision.retryAfterSeconds !== null) {
      reply.header('retry-after', String(decision.retryAfterSeconds));
      reply.header('retry-after-ms', String(decision.retryAfterSeconds * 1000));
    }
    if (exchange.verdict)
      reply.headers(openaiRateLimitHeaders(exchange.verdict.limits, decision.tokenLimits));
    const code = decision.code as RejectionCode;
    this.#record(exchange, 429, null, null, code);
    const detail =
      code === 'BUDGET_EXCEEDED'
        ? budgetRefusal(decision.budgets, reserved)
        : 'token rate limit exceeded';
    return sendOpenAIError(reply, code, detail, { tokens: code === 'RATE_LIMITED' });
  }

  /**
   * One usage event. Often called after the answer left (from stream and body events), so it
   * reads only what the exchange captured, and never throws: a failure here (a recorder closed
   * during shutdown, say) is logged, never allowed to reach the event loop.
   */
  #record(
    exchange: Exchange,
    status: number,
    usage: TokenUsage | null,
    metering: Metering | null,
    outcome?: RejectionCode,
  ): void {
    try {
      this.#recordUnguarded(exchange, status, usage, metering, outcome);
    } catch (error) {
      this.#deps.logger?.error(
        { err: error, upstream: exchange.upstream?.record.name },
        'recording a gateway usage event failed',
      );
    }
  }

  #recordUnguarded(
    exchange: Exchange,
    status: number,
    usage: TokenUsage | null,
    metering: Metering | null,
    outcome: RejectionCode | undefined,
  ): void {
    const { verdict } = exchange;
    const key = verdict?.key ?? null;
    const price = usage ? (metering?.price ?? null) : null;
    void this.#deps.usage.record({
      at: this.#deps.clock.now(),
      keyId: key?.id ?? null,
      projectId: key?.projectId ?? null,
      ownerId: key?.ownerId ?? null,
      env: key?.env ?? null,
      outcome: outcome ?? verdict?.code ?? 'MISSING',
      entryPoint: 'gateway',
      route: exchange.route,
      status,
      latencyMs: performance.now() - exchange.started,
      clientIp: exchange.clientIp,
      userAgent: exchange.userAgent,
      cost: verdict?.valid ? 1 : 0,
      tokensIn: usage ? usage.input : null,
      tokensOut: usage ? usage.output : null,
      costMicros: price && usage ? costMicros(price, usage.input, usage.output) : null,
      ...(usage && metering?.unpriced && { unpriced: true }),
    });
  }

  /** What a budget's subject spent since the period began, from the usage store (cold start). */
  async #spentSince(subject: string, rule: BudgetRule, periodStartMs: number): Promise<number> {
    await this.#deps.usage.flush();
    const [kind, id] = splitOnce(subject, ':');
    const buckets = await this.#deps.store.usage.query({
      ...(kind === 'owner' ? { ownerId: id } : { keyId: id }),
      from: periodStartMs,
      to: Number.MAX_SAFE_INTEGER,
      granularity: rule.period === 'hour' || rule.period === 'day' ? 'hour' : 'day',
    });
    return buckets.reduce((sum, bucket) => sum + bucket.costMicros, 0);
  }
}

/** A refusal in OpenAI's shape; spent credits and budgets are not worth the SDK's retries. */
function sendOpenAIError(
  reply: FastifyReply,
  code: ErrorCode,
  detail: string | undefined,
  options?: { tokens?: boolean; param?: string },
): FastifyReply {
  if (code === 'QUOTA_EXCEEDED' || code === 'BUDGET_EXCEEDED')
    reply.header('x-should-retry', 'false');
  const error = openaiError(code, detail, options);
  return reply.code(error.status).type('application/json').send(error.body);
}

function authorizeRequest(
  key: KeyRecord,
  request: {
    scope: string | null;
    model: string | null;
    priced: boolean;
    needsPrice: boolean;
    /** A creation endpoint that runs a model: without one named, the upstream picks it. */
    namesModel: boolean;
    /** A batch or realtime session: it runs models the gateway never sees. */
    runsUnseenModels: boolean;
  },
): RejectionCode | null {
  // A generic upstream's route that its map does not list: nobody may call it.
  if (request.scope === null) return 'INSUFFICIENT_SCOPE';
  if (key.models !== null) {
    if (request.model !== null && !modelAllowed(key.models, request.model))
      return 'MODEL_NOT_ALLOWED';
    // An allowlist is a promise about every model the key runs: a request that leaves the
    // choice to the upstream, or hides it where the gateway cannot read, is not allowed.
    if (request.model === null && request.namesModel) return 'MODEL_NOT_ALLOWED';
    if (request.runsUnseenModels) return 'MODEL_NOT_ALLOWED';
  }
  if (key.budgets?.length && request.needsPrice && !request.priced) return 'MODEL_NOT_ALLOWED';
  return null;
}

function tokenRules(key: KeyRecord, project: ProjectRecord, owner: OwnerRecord | null) {
  const rules: Array<{ subject: string; rule: RateLimitRule }> = [];
  for (const rule of effectiveKeyRules(key, project, 'tokens'))
    rules.push({ subject: keySubject(key.id), rule });
  if (owner)
    for (const rule of rulesOfUnit(owner.ratelimits ?? [], 'tokens'))
      rules.push({ subject: ownerSubject(owner.id), rule });
  return rules;
}

function budgetRules(key: KeyRecord, owner: OwnerRecord | null) {
  const rules: Array<{ subject: string; rule: BudgetRule }> = [];
  for (const rule of key.budgets ?? []) rules.push({ subject: keySubject(key.id), rule });
  for (const rule of owner?.budgets ?? []) rules.push({ subject: ownerSubject(owner!.id), rule });
  return rules;
}

/**
 * The upstream path: base path + the caller's. An OpenAI base URL may be given as OpenAI's SDK
 * writes it (`https://api.openai.com/v1`) while the SDK pointed at the gateway sends `/v1/…`
 * too: the version is not doubled.
 */
function upstreamPath(upstream: ResolvedUpstream, rawPath: string): string {
  const { basePath } = upstream;
  if (
    upstream.record.type === 'openai' &&
    basePath.endsWith('/v1') &&
    (rawPath === '/v1' || rawPath.startsWith('/v1/'))
  )
    return basePath + rawPath.slice(3);
  return basePath + rawPath;
}

function splitOnce(text: string, separator: string): [string, string] {
  const at = text.indexOf(separator);
  return at === -1 ? [text, ''] : [text.slice(0, at), text.slice(at + separator.length)];
}

/** The query string to forward: without a keywarden key that came in `api_key`. */
function withoutApiKey(query: string, keyInQuery: boolean): string {
  if (query === '') return '';
  if (!keyInQuery) return `?${query}`;
  const params = new URLSearchParams(query);
  params.delete('api_key');
  const rest = params.toString();
  return rest === '' ? '' : `?${rest}`;
}

function bodyAnnounced(raw: IncomingMessage): boolean {
  const length = raw.headers['content-length'];
  return raw.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function parseJsonObject(bytes: Buffer): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    return value && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/** A request refused before forwarding: its body is read and dropped, so the socket can be reused. */
function drain(raw: IncomingMessage): void {
  if (!raw.readableEnded) raw.resume();
}

function isTimeout(error: unknown): boolean {
  const code = (error as { code?: string })?.code ?? '';
  return (
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_CONNECT_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT'
  );
}
