import { isWellFormedKey } from '@keywarden/core';
import type { CachedKey, KeyCache, OwnerCache, StoreBreaker } from '../cache/index.ts';
import type { Clock } from '../clock/index.ts';
import { KeywardenError } from '../errors/index.ts';
import type { LimitDecision, LimitResult, RateLimiter } from '../limiter/index.ts';
import type { Metrics } from '../metrics/index.ts';
import { compileIpMatcher } from '../netaddr/index.ts';
import { KeyHasher } from '../secrets/index.ts';
import type { KeyKind, KeyRecord, OwnerRecord, ProjectRecord, Store } from '../store/index.ts';
import type { UsageEntryPoint, UsageRecorder } from '../usage/index.ts';
import { httpStatusFor, type RejectionCode, type VerifyCode } from './codes.ts';
import {
  decideClientIp,
  decideEnvironment,
  decideKeyAge,
  decideKeyState,
  decideScopes,
} from './decisions.ts';
import type { LastUsedRecorder } from './last-used.ts';
import { limitRequestFor } from './limits.ts';
import type { UnknownKeyGuard } from './unknown-key-guard.ts';

export interface VerifyRequest {
  /** The presented key, exactly as received (undefined when none was presented). */
  key: string | undefined;
  /** Where the key came from: a query-string key is accepted only where the project allows it. */
  source?: 'header' | 'query' | 'body';
  /** Scopes the caller needs; all of them must be granted. */
  requiredScopes?: readonly string[];
  /** The environment the caller serves (or the set it accepts); keys of others are rejected. */
  env?: string | readonly string[] | null;
  clientIp?: string | null;
  /** Management routes accept only management keys, and every other entry point only API keys. */
  kind?: KeyKind;
  /** What this request spends from rate limits and credits (integer ≥ 0, default 1). */
  cost?: number;
  /**
   * An entry point's own rule over the found key, checked after scopes and before any limit is
   * spent (the gateway's model allowlist): a rejection here costs the caller nothing.
   */
  authorize?: (key: KeyRecord) => RejectionCode | null;
  /** Where the request came in, for the usage record. Absent: not recorded (management auth). */
  usage?: {
    entryPoint: UsageEntryPoint;
    route?: string | null;
    userAgent?: string | null;
    /** The entry point records the event itself, once it knows more (the gateway: tokens). */
    deferred?: boolean;
  };
}

export interface VerifyResult {
  valid: boolean;
  code: VerifyCode;
  /** The key when it was found, also on a rejection after lookup (for audit and usage). */
  key: KeyRecord | null;
  project: ProjectRecord | null;
  missingScopes: string[];
  /** Every rate limit that applied, after this request. Empty when none applied. */
  limits: LimitResult[];
  credits: { remaining: number } | null;
  /** On RATE_LIMITED / QUOTA_EXCEEDED: seconds until the same request could pass, if known. */
  retryAfterSeconds: number | null;
}

export interface VerifierDeps {
  store: Pick<Store, 'keys' | 'projects' | 'owners'>;
  hasher: KeyHasher;
  cache: KeyCache;
  owners: OwnerCache;
  clock: Clock;
  limiter?: RateLimiter;
  lastUsed?: LastUsedRecorder;
  usage?: UsageRecorder;
  metrics?: Metrics;
  /** Keeps a key guesser from loading the store (the key filter and per-network budget). */
  unknownKeys?: UnknownKeyGuard;
  /** How long a cached key may still be served after its age ran out, when the store fails. */
  staleIfErrorMs?: number;
  /** Backs off from a failing store: stale entries are then served without waiting on it. */
  breaker?: StoreBreaker;
  onStoreError?: (error: unknown) => void;
}

const NO_SCOPES: string[] = [];
const NO_LIMITS: LimitResult[] = [];

function result(
  code: VerifyCode,
  found: CachedKey | null,
  extra?: Partial<VerifyResult>,
): VerifyResult {
  const outcome: VerifyResult = {
    valid: code === 'VALID',
    code,
    key: found?.key ?? null,
    project: found?.project ?? null,
    missingScopes: NO_SCOPES,
    limits: NO_LIMITS,
    credits: null,
    retryAfterSeconds: null,
  };
  return extra ? Object.assign(outcome, extra) : outcome;
}

/** A verdict the limiter had the last word on (built whole: it is on every limited request). */
function limitedResult(found: CachedKey, decision: LimitDecision): VerifyResult {
  return {
    valid: decision.allowed,
    code: decision.code,
    key: found.key,
    project: found.project,
    missingScopes: NO_SCOPES,
    limits: decision.limits,
    credits: decision.credits,
    retryAfterSeconds: decision.retryAfterSeconds,
  };
}

/**
 * The one verification pipeline behind every entry point (verify API, forward-auth,
 * management auth, and later the gateway and SDK):
 * checksum → cache/store lookup → revoked/expired/disabled → environment → IP allowlist →
 * scopes → rate limits and credits (together, all or nothing) → usage record.
 */
export class Verifier {
  readonly #deps: VerifierDeps;
  /** Concurrent misses for the same hash share one store query. */
  readonly #inflight = new Map<string, Promise<CachedKey | null>>();

  constructor(deps: VerifierDeps) {
    this.#deps = deps;
  }

  verify(request: VerifyRequest): Promise<VerifyResult> {
    try {
      const outcome = this.verifyNow(request);
      return outcome instanceof Promise ? outcome : Promise.resolve(outcome);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * `verify`, answered synchronously when nothing had to wait: the pipeline is synchronous on
   * a cache hit (the common case) and only becomes a promise when it must wait for the store,
   * a shared limiter or room in the usage buffer. For entry points on the hot path
   * (forward-auth), which then answer without a promise or a microtask. May throw.
   */
  verifyNow(request: VerifyRequest): VerifyResult | Promise<VerifyResult> {
    const started = request.usage ? performance.now() : 0;
    // Offline first: a missing or malformed key never reaches the clock, the cache or the store.
    const { key: presented } = request;
    if (presented === undefined || presented === '') {
      return this.#conclude(request, result('MISSING', null), null, started);
    }
    if (!isWellFormedKey(presented)) {
      return this.#conclude(request, result('MALFORMED', null), null, started);
    }
    // One reading of the clock per verification (the time of its usage event too): on a
    // virtual machine each reading is a good part of a cache hit's cost.
    const now = this.#deps.clock.now();
    const decided = this.#decide(presented, request, now);
    if (decided instanceof Promise) {
      return decided.then((outcome) => this.#conclude(request, outcome, now, started));
    }
    return this.#conclude(request, decided, now, started);
  }

  /** Counts the verdict and records its usage event. */
  #conclude(
    request: VerifyRequest,
    outcome: VerifyResult,
    at: number | null,
    started: number,
  ): VerifyResult | Promise<VerifyResult> {
    this.#deps.metrics?.countVerification(request.usage?.entryPoint ?? 'management', outcome.code);
    if (request.usage && this.#deps.usage && !request.usage.deferred) {
      const wait = this.#record(request, outcome, at, performance.now() - started);
      // Back-pressure: when the usage buffer is full, the request waits for room.
      if (wait) return wait.then(() => outcome);
    }
    return outcome;
  }

  /** From a well-formed key: the cache, else the store, then the decisions. */
  #decide(
    presented: string,
    request: VerifyRequest,
    now: number,
  ): VerifyResult | Promise<VerifyResult> {
    const { hash } = this.#deps.hasher.hash(presented);
    const cached = this.#deps.cache.get(hash, now);
    if (cached) return this.#decideFound(request, cached, now);
    if (this.#deps.cache.isKnownMissing(hash, now)) return result('NOT_FOUND', null);
    const guard = this.#deps.unknownKeys;
    if (guard && !this.#inflight.has(hash)) {
      const older = this.#deps.hasher.olderHashes(presented);
      const admitted = guard.admit(
        older.length === 0 ? [hash] : [hash, ...older.map((h) => h.hash)],
        request.clientIp,
      );
      if (admitted === false) return result('NOT_FOUND', null);
      if (admitted !== true) {
        return admitted.then((found) =>
          found ? this.#lookUpAndDecide(presented, hash, request) : result('NOT_FOUND', null),
        );
      }
    }
    return this.#lookUpAndDecide(presented, hash, request);
  }

  #lookUpAndDecide(presented: string, hash: string, request: VerifyRequest): Promise<VerifyResult> {
    // The decisions after a wait for the store are made at the time it answered.
    return this.#loadOrStale(presented, hash).then((found) =>
      this.#decideFound(request, found, this.#deps.clock.now()),
    );
  }

  #decideFound(
    request: VerifyRequest,
    found: CachedKey | null,
    now: number,
  ): VerifyResult | Promise<VerifyResult> {
    if (!found || found.key.kind !== (request.kind ?? 'api')) return result('NOT_FOUND', null);
    if (request.source === 'query' && !found.project.allowQueryKey) return result('MISSING', null);

    const { key } = found;
    const state =
      decideKeyState(key, now) ??
      decideKeyAge(key, found.project.rotationPolicy, now) ??
      decideEnvironment(key.env, request.env) ??
      decideClientIp(found.ipMatcher, request.clientIp);
    if (state) return result(state, found);
    const scopes = decideScopes(key.scopes, request.requiredScopes);
    if (scopes) return result(scopes.code, found, { missingScopes: scopes.missing });
    const refused = request.authorize?.(key);
    if (refused) return result(refused, found);

    const limited = this.#applyLimits(found, request.cost ?? 1, now);
    if (limited instanceof Promise) return limited.then((l) => this.#admit(request, found, now, l));
    return this.#admit(request, found, now, limited);
  }

  #admit(
    request: VerifyRequest,
    found: CachedKey,
    now: number,
    limited: VerifyResult | null,
  ): VerifyResult {
    if (limited && !limited.valid) return limited;
    this.#deps.lastUsed?.record(found.key.id, now, request.clientIp ?? null);
    return limited ?? result('VALID', found);
  }

  #applyLimits(
    found: CachedKey,
    cost: number,
    now: number,
  ): VerifyResult | null | Promise<VerifyResult | null> {
    if (!this.#deps.limiter) return null;
    const { ownerId } = found.key;
    const owner = ownerId ? this.#deps.owners.get(ownerId) : null;
    // After waiting for the owner, the limiter reads its clock itself.
    if (owner === undefined)
      return this.ownerOf(ownerId!).then((o) => this.#consume(found, o, cost, undefined));
    return this.#consume(found, owner, cost, now);
  }

  #consume(
    found: CachedKey,
    owner: OwnerRecord | null,
    cost: number,
    now: number | undefined,
  ): VerifyResult | null | Promise<VerifyResult> {
    const request = limitRequestFor(found.key, found.project, owner, cost);
    if (!request) return null;
    const limiter = this.#deps.limiter!;
    if (limiter.consumeNow) return limitedResult(found, limiter.consumeNow(request, now));
    return limiter.consume(request).then((decision) => limitedResult(found, decision));
  }

  /**
   * An owner's record as the pipeline sees it: cached, loaded once, served stale while the
   * store fails. Public for entry points that apply an owner's rules of their own (the
   * gateway's token limits and budgets).
   */
  async ownerOf(ownerId: string): Promise<OwnerRecord | null> {
    const cached = this.#deps.owners.get(ownerId);
    if (cached !== undefined) return cached;
    const { breaker } = this.#deps;
    const access = breaker?.access() ?? 'call';
    try {
      if (access === 'skip') throw new KeywardenError('SERVICE_UNAVAILABLE', 'backing off');
      const read = this.#deps.store.owners.findById(ownerId);
      const owner = await (breaker ? breaker.within(read) : read);
      this.#deps.owners.set(ownerId, owner);
      breaker?.succeeded();
      return owner;
    } catch (error) {
      if (access !== 'skip') {
        breaker?.failed(error, access === 'probe');
        this.#deps.onStoreError?.(error);
      }
      const stale = this.#deps.owners.getStale(ownerId, this.#deps.staleIfErrorMs ?? 0);
      if (stale !== undefined) return stale;
      throw new KeywardenError('SERVICE_UNAVAILABLE', 'the key store does not answer');
    }
  }

  #record(
    request: VerifyRequest,
    outcome: VerifyResult,
    at: number | null,
    latencyMs: number,
  ): void | Promise<void> {
    const { key } = outcome;
    return this.#deps.usage!.record({
      at: at ?? this.#deps.clock.now(),
      keyId: key?.id ?? null,
      projectId: key?.projectId ?? null,
      ownerId: key?.ownerId ?? null,
      env: key?.env ?? null,
      outcome: outcome.code,
      entryPoint: request.usage!.entryPoint,
      route: request.usage!.route ?? null,
      status: httpStatusFor(outcome.code),
      latencyMs,
      clientIp: request.clientIp ?? null,
      userAgent: request.usage!.userAgent ?? null,
      cost: outcome.valid ? (request.cost ?? 1) : 0,
      tokensIn: null,
      tokensOut: null,
      costMicros: null,
    });
  }

  /**
   * A cache miss goes to the store. If the store fails, a recently cached entry keeps
   * serving for `staleIfErrorMs` within the revocation bound (stale-if-error); without one,
   * the answer is 503, never a guess. After a failure the breaker keeps requests from waiting
   * on the store: they serve stale (or 503) at once while one probe at a time tries it.
   */
  async #loadOrStale(presented: string, hash: string): Promise<CachedKey | null> {
    const { cache, breaker } = this.#deps;
    const staleMs = this.#deps.staleIfErrorMs ?? 0;
    const access = breaker?.access() ?? 'call';
    if (access !== 'call') {
      const stale = cache.getStale(hash, staleMs);
      if (access === 'skip') {
        if (stale) return stale;
        throw new KeywardenError('SERVICE_UNAVAILABLE', 'the key store does not answer');
      }
      if (stale) {
        // The probe runs on; this request does not wait for it.
        void this.#loadReporting(presented, hash, true).catch(() => {});
        return stale;
      }
    }
    try {
      return await this.#loadReporting(presented, hash, access === 'probe');
    } catch {
      const stale = cache.getStale(hash, staleMs);
      if (stale) return stale;
      throw new KeywardenError('SERVICE_UNAVAILABLE', 'the key store does not answer');
    }
  }

  async #loadReporting(presented: string, hash: string, probe: boolean): Promise<CachedKey | null> {
    const { breaker } = this.#deps;
    const load = this.#load(presented, hash);
    try {
      const found = await (breaker ? breaker.within(load) : load);
      breaker?.succeeded();
      return found;
    } catch (error) {
      // A read past its deadline may hang on a dead connection for long: later loads of this
      // key must not wait on it, so it is no longer shared.
      if (this.#inflight.get(hash) === load) this.#inflight.delete(hash);
      breaker?.failed(error, probe);
      this.#deps.onStoreError?.(error);
      throw error;
    }
  }

  /** Known-missing hashes are answered before this is reached (`#decide`). */
  #load(presented: string, hash: string): Promise<CachedKey | null> {
    let pending = this.#inflight.get(hash);
    if (!pending) {
      pending = this.#lookup(presented, hash).finally(() => this.#inflight.delete(hash));
      this.#inflight.set(hash, pending);
    }
    return pending;
  }

  /**
   * A load that an invalidation superseded while it ran (it read the row before a change it
   * has since heard of) is read again: a few times at most, then answered without caching.
   */
  async #lookup(presented: string, hash: string): Promise<CachedKey | null> {
    for (let attempt = 1; ; attempt++) {
      const ticket = this.#deps.cache.beginLoad();
      const loaded = await this.#lookupOnce(presented, hash);
      if (!loaded) {
        this.#deps.cache.rememberMissing(hash, ticket);
        return null;
      }
      const entry = this.#deps.cache.set(hash, loaded.key, loaded.project, ticket);
      if (entry) return entry;
      if (attempt === 3)
        return { ...loaded, ipMatcher: compileIpMatcher(loaded.key.allowedIps), loadedAt: 0 };
    }
  }

  async #lookupOnce(
    presented: string,
    hash: string,
  ): Promise<{ key: KeyRecord; project: ProjectRecord } | null> {
    const { store, hasher } = this.#deps;
    let lookedUp = hash;
    let key = await store.keys.findByHash(hash);
    // Keys hashed under an older pepper still verify until they are rotated.
    for (const older of key ? [] : hasher.olderHashes(presented)) {
      lookedUp = older.hash;
      key = await store.keys.findByHash(lookedUp);
      if (key) break;
    }
    // The index found the row; the constant-time check makes sure the backend's comparison
    // (collation, case folding) cannot have matched a different hash.
    const project =
      key && KeyHasher.equal(key.hash, lookedUp)
        ? await store.projects.findById(key.projectId)
        : null;
    if (!key || !project) return null;
    // A key the filter did not know (created by another process on the same store, or its
    // message not yet here): it exists, so it is never refused again.
    this.#deps.unknownKeys?.learn(lookedUp);
    return { key, project };
  }
}
