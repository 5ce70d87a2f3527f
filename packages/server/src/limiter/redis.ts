import { createHash } from 'node:crypto';
import { createClient, type RedisClientOptions } from 'redis';
import type { Clock } from '../clock/index.ts';
import { withDeadline as deadline } from '../clock/index.ts';
import { RESERVE_SCRIPT, SETTLE_SCRIPT } from './budget.lua.ts';
import { budgetPeriodEnd, budgetPeriodStart, loadBudgetSpent } from './budget.ts';
import { assertValidCredits } from './credits.ts';
import { assertValidCost, assertValidRule } from './gcra.ts';
import { CONSUME_SCRIPT, DRAIN_SCRIPT } from './redis.lua.ts';
import {
  assertValidActual,
  assertValidReserveRequest,
  type ReserveShape,
} from './reserve-decide.ts';
import { SingleFlight } from './single-flight.ts';
import type {
  BudgetRule,
  CreditsState,
  LimitCode,
  LimitDecision,
  LimitRequest,
  RateLimiter,
  RateLimitRule,
  Reservation,
  ReserveCode,
  ReserveDecision,
  ReserveRequest,
  SettleActual,
} from './types.ts';

/**
 * The many-node limiter: every state lives in Redis and each `consume` is ONE Lua script
 * (redis.lua.ts) that reads every (subject, rule) state and the credits, decides exactly as
 * `decideLimits` does, and writes all or nothing. Time is the Redis server's TIME, so nodes
 * with skewed clocks agree. See README.md, "Redis backend", for the key layout, hash tags,
 * the credits write-back guarantees and the numeric bounds.
 *
 * Failure: the client never queues commands while disconnected (`disableOfflineQueue`) and
 * every call has a deadline (`commandTimeoutMs`), so when Redis is unreachable or hangs,
 * `consume` rejects with a `RedisLimiterError` quickly and the caller applies its fault
 * policy. The client reconnects by itself, with capped exponential backoff.
 */
export interface RedisRateLimiterOptions {
  /** Default `redis://127.0.0.1:6379`. */
  url?: string;
  /** Extra node-redis options (password, TLS, database…); the failure settings below win. */
  clientOptions?: RedisClientOptions;
  /** Prefix of every key; no `{` or `}` (they would change the hash slot). Default `kw:`. */
  prefix?: string;
  /** Deadline of one call (consume, a drain round trip, reset) in ms. Default 1000. */
  commandTimeoutMs?: number;
  /** TCP connect timeout per attempt in ms. Default 1000. */
  connectTimeoutMs?: number;
  /** Reconnect backoff: 50 ms doubling up to this (plus jitter). Default 2000. */
  maxReconnectDelayMs?: number;
  /** A written-back (clean) credits state untouched this long expires. Default 1 h. */
  creditsIdleMs?: number;
  /** A changed credits state not drained this long expires (change lost). Default 7 days. */
  pendingCreditsTtlMs?: number;
  /** The changed-credits index is split over this many sets (cluster load). Default 16. */
  dirtyShards?: number;
  /** A budget state is kept this long after its period ended, for late settles. Default 1 h. */
  budgetMarginMs?: number;
  /** TTL of a `total` budget state, refreshed on every write. Default 7 days. */
  totalBudgetIdleMs?: number;
  /**
   * Connection errors (each failed attempt), best-effort failures and failed settles;
   * default: ignored.
   */
  onError?: (error: Error) => void;
  /**
   * Tests only: decide at this clock's time instead of the server's TIME (which is what
   * makes the script comparable with `decideLimits` and lets the time-travel cases run).
   */
  clockOverride?: Clock;
}

/**
 * A `LimitRequest` that may name its hash tag. Without one, the tag is the first `owner:`
 * subject of the request, else its first subject (see README.md for why, and the trade-off).
 */
export interface RedisLimitRequest extends LimitRequest {
  tag?: string;
}

/** A `ReserveRequest` that may name its hash tag, as `RedisLimitRequest` does. */
export interface RedisReserveRequest extends ReserveRequest {
  tag?: string;
}

/** Redis could not answer (unreachable, timed out, closed, or replied with an error). */
export class RedisLimiterError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RedisLimiterError';
  }
}

type Client = ReturnType<typeof createClient>;

const CODES: readonly LimitCode[] = ['VALID', 'RATE_LIMITED', 'QUOTA_EXCEEDED'];
const RESERVE_CODES: readonly ReserveCode[] = ['VALID', 'RATE_LIMITED', 'BUDGET_EXCEEDED'];
/** Reserve rounds (a period boundary, states to load) before giving up: 2–3 in practice. */
const MAX_RESERVE_ROUNDS = 8;
const POP_BATCH = 500;

const sha1 = (source: string) => createHash('sha1').update(source).digest('hex');
const CONSUME_SHA = sha1(CONSUME_SCRIPT);
const DRAIN_SHA = sha1(DRAIN_SCRIPT);
const RESERVE_SHA = sha1(RESERVE_SCRIPT);
const SETTLE_SHA = sha1(SETTLE_SCRIPT);

/** Escapes the characters that delimit key parts or hash tags (`%`, `{`, `}`, `|`). */
function escapePart(part: string): string {
  return part.replace(
    /[%{}|]/g,
    (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`,
  );
}

/** FNV-1a over UTF-16 code units: which dirty shard a subject's changes are listed in. */
function shardOf(subject: string, shards: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < subject.length; i++) {
    hash ^= subject.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % shards;
}

function nonNegativeInteger(name: string, value: number, min = 0): number {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`${name} must be an integer ≥ ${min}, got ${String(value)}`);
  }
  return value;
}

/** The subject whose id becomes the hash tag of every key a request touches. */
export function redisTagOf(request: RedisLimitRequest): string | null {
  const subjects = request.limits.map(({ subject }) => subject);
  if (request.credits) subjects.push(request.credits.subject);
  return tagOf(request.tag, subjects);
}

/** The same rule for a reserve: the named tag, else its owner, else its first subject. */
export function redisReserveTagOf(request: ReserveShape & { tag?: string }): string | null {
  const subjects = [...request.tokenLimits, ...request.budgets].map(({ subject }) => subject);
  return tagOf(request.tag, subjects);
}

function tagOf(tag: string | undefined, subjects: string[]): string | null {
  if (typeof tag === 'string' && tag.length > 0) return tag;
  return subjects.find((subject) => subject.startsWith('owner:')) ?? subjects[0] ?? null;
}

/** The key names, as pure functions of the prefix (exported for tests and tooling). */
export class RedisLimiterKeys {
  readonly prefix: string;
  readonly dirtyShards: number;

  constructor(prefix = 'kw:', dirtyShards = 16) {
    if (/[{}]/.test(prefix)) throw new RangeError('the key prefix must not contain { or }');
    this.prefix = prefix;
    this.dirtyShards = nonNegativeInteger('dirtyShards', dirtyShards, 1);
  }

  /** `kw:{owner:acme}` — everything one request touches starts with this. */
  tagged(tag: string): string {
    return `${this.prefix}{${escapePart(tag)}}`;
  }

  /** `kw:{owner:acme}:rl:key:k1|requests|100|60` */
  limit(tag: string, subject: string, rule: RateLimitRule): string {
    const parts = [escapePart(subject), escapePart(rule.name), rule.limit, rule.windowSeconds];
    return `${this.tagged(tag)}:rl:${parts.join('|')}`;
  }

  /** `kw:{owner:acme}:cr:key:k1` */
  credits(tag: string, subject: string): string {
    return `${this.tagged(tag)}:cr:${escapePart(subject)}`;
  }

  /** `kw:{owner:acme}:bg:key:k1|monthly|month|1767225600000` — not the amount (see budget.ts). */
  budget(tag: string, subject: string, rule: BudgetRule, periodStartMs: number): string {
    const parts = [escapePart(subject), escapePart(rule.name), rule.period, periodStartMs];
    return `${this.tagged(tag)}:bg:${parts.join('|')}`;
  }

  /** `kw:crtags:key:k1` — the tags under which `subject` has (had) credits, for resetCredits. */
  creditsTags(subject: string): string {
    return `${this.prefix}crtags:${escapePart(subject)}`;
  }

  /** `kw:crdirty:7` — credits possibly changed since the last drain, as `[tag, subject]`. */
  dirty(subject: string): string {
    return this.dirtyShard(shardOf(subject, this.dirtyShards));
  }

  dirtyShard(shard: number): string {
    return `${this.prefix}crdirty:${shard}`;
  }

  dirtyMember(tag: string, subject: string): string {
    return JSON.stringify([tag, subject]);
  }
}

export class RedisRateLimiter implements RateLimiter {
  readonly keys: RedisLimiterKeys;
  readonly #timeoutMs: number;
  readonly #idleMs: number;
  readonly #pendingMs: number;
  readonly #clock: Clock | null;
  readonly #budgetMarginMs: number;
  readonly #totalBudgetIdleMs: number;
  /** `loadSpent` calls in flight, by budget key. */
  readonly #loads = new SingleFlight<number>();
  #failedSettles = 0;
  readonly #onError: (error: Error) => void;
  readonly #clientOptions: RedisClientOptions;
  readonly #connectTimeoutMs: number;
  #client: Client;
  /** Settles once the current client is connected (or closed). */
  #connecting: Promise<void> = Promise.resolve();
  #lastAnswerAt = performance.now();
  #closed = false;

  constructor(options: RedisRateLimiterOptions = {}) {
    this.keys = new RedisLimiterKeys(options.prefix, options.dirtyShards);
    this.#timeoutMs = nonNegativeInteger('commandTimeoutMs', options.commandTimeoutMs ?? 1000, 1);
    this.#idleMs = nonNegativeInteger('creditsIdleMs', options.creditsIdleMs ?? 60 * 60_000, 1);
    this.#pendingMs = nonNegativeInteger(
      'pendingCreditsTtlMs',
      options.pendingCreditsTtlMs ?? 7 * 24 * 60 * 60_000,
      1,
    );
    this.#clock = options.clockOverride ?? null;
    this.#budgetMarginMs = nonNegativeInteger(
      'budgetMarginMs',
      options.budgetMarginMs ?? 3_600_000,
    );
    this.#totalBudgetIdleMs = nonNegativeInteger(
      'totalBudgetIdleMs',
      options.totalBudgetIdleMs ?? 7 * 24 * 60 * 60_000,
      1,
    );
    this.#onError = options.onError ?? (() => {});
    const maxDelay = options.maxReconnectDelayMs ?? 2000;
    this.#connectTimeoutMs = nonNegativeInteger(
      'connectTimeoutMs',
      options.connectTimeoutMs ?? 1000,
      1,
    );
    const extra = options.clientOptions ?? {};
    this.#clientOptions = {
      ...extra,
      url: options.url ?? extra.url ?? 'redis://127.0.0.1:6379',
      // Never queue while disconnected: reject at once, the caller has a fault policy.
      disableOfflineQueue: true,
      // A handshake that needs an answer: the client is ready only once the server has
      // replied, and a server that accepts and drops connections hits the backoff instead
      // of a reconnect loop. (node-redis 5.9 ignores a failed CLIENT SETINFO, so a drop
      // during that handshake left the client "ready" on a dead socket: it is turned off.)
      name: extra.name ?? 'keywarden-limiter',
      disableClientInfo: true,
      socket: {
        ...extra.socket,
        connectTimeout: this.#connectTimeoutMs,
        reconnectStrategy: (retries: number) =>
          Math.min(50 * 2 ** Math.min(retries, 16), maxDelay) + Math.floor(Math.random() * 50),
      },
    } as RedisClientOptions;
    this.#client = this.#connect();
  }

  /** Creates a limiter and waits until it is connected (rejects after `timeoutMs`). */
  static async connect(
    options: RedisRateLimiterOptions = {},
    timeoutMs = 2000,
  ): Promise<RedisRateLimiter> {
    const limiter = new RedisRateLimiter(options);
    try {
      await limiter.ready(timeoutMs);
      return limiter;
    } catch (error) {
      await limiter.close();
      throw error;
    }
  }

  /** True while connected; `consume` rejects at once when false. */
  get isReady(): boolean {
    return this.#client.isReady;
  }

  /** Waits until connected, or rejects after `timeoutMs`. */
  async ready(timeoutMs = 2000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!this.#client.isReady) {
      if (this.#closed) throw new RedisLimiterError('the limiter is closed');
      const left = deadline - performance.now();
      if (left <= 0)
        throw new RedisLimiterError(`could not connect to Redis within ${timeoutMs} ms`);
      const connecting = this.#connecting;
      await withDeadline(connecting, left, `could not connect to Redis within ${timeoutMs} ms`);
      // Reconnected after a drop (the first promise had settled long ago): poll briefly.
      if (connecting === this.#connecting && !this.#client.isReady) {
        await new Promise((resolve) => setTimeout(resolve, Math.min(20, left)));
      }
    }
  }

  async consume(request: RedisLimitRequest): Promise<LimitDecision> {
    const { cost, limits } = request;
    assertValidCost(cost);
    for (const { rule } of limits) assertValidRule(rule);
    const credits = request.credits ?? null;
    if (credits) assertValidCredits(credits.config, credits.initial);
    const tag = redisTagOf(request);
    if (tag === null) {
      return { allowed: true, code: 'VALID', limits: [], retryAfterSeconds: null, credits: null };
    }

    const keys: string[] = [];
    const indexOf = new Map<string, number>();
    const perLimit: string[] = [];
    for (const { subject, rule } of limits) {
      const key = this.keys.limit(tag, subject, rule);
      let index = indexOf.get(key);
      if (index === undefined) {
        index = keys.push(key);
        indexOf.set(key, index);
      }
      perLimit.push(String(index), String(rule.limit), String(rule.windowSeconds * 1000));
    }
    const refill = credits?.config.refill ?? null;
    if (credits) keys.push(this.keys.credits(tag, credits.subject));
    const args = [
      String(cost),
      this.#clock ? String(this.#clock.now()) : '',
      credits ? '1' : '0',
      String(credits?.initial.remaining ?? 0),
      String(credits?.initial.lastRefillAt ?? 0),
      refill?.mode ?? '',
      String(refill?.amount ?? 0),
      String((refill?.intervalSeconds ?? 0) * 1000),
      String(this.#idleMs),
      String(this.#pendingMs),
      ...perLimit,
    ];

    const [reply] = await this.#call('consume', (client) => {
      // Sent back to back on the one connection, so Redis runs them in this order: the tag
      // index and the dirty mark exist before the state they point at (see README.md).
      const before: Array<Promise<unknown>> = [];
      if (credits) {
        const index = this.keys.creditsTags(credits.subject);
        before.push(client.sAdd(index, tag), client.pExpire(index, this.#pendingMs + this.#idleMs));
        if (cost > 0 || refill !== null) {
          const member = this.keys.dirtyMember(tag, credits.subject);
          before.push(client.sAdd(this.keys.dirty(credits.subject), member));
        }
      }
      return Promise.all([script(client, CONSUME_SHA, CONSUME_SCRIPT, keys, args), ...before]);
    });
    return toDecision(request, reply);
  }

  /** Settles that failed (Redis did not answer) since start; each was reported to `onError`. */
  get failedSettles(): number {
    return this.#failedSettles;
  }

  /**
   * One script decides and reserves (budget.lua.ts). Rounds: the script refuses a period
   * computed on a clock that disagrees with the server's (it answers its time: computed again),
   * and names the budget states Redis does not hold (loaded with `loadSpent`, one call per
   * state per node at a time, and sent again as initial values, used only if still absent).
   */
  async reserve(request: RedisReserveRequest): Promise<ReserveDecision> {
    assertValidReserveRequest(request);
    const { tokens, costMicros } = request;
    const tag = redisReserveTagOf(request);
    if (tag === null) {
      const reservation: Reservation = { tokenLimits: [], tokens, budgets: [], costMicros };
      const decision: ReserveDecision = {
        allowed: true,
        code: 'VALID',
        tokenLimits: [],
        budgets: [],
        retryAfterSeconds: null,
        reservation,
      };
      return decision;
    }
    const tatKeys: string[] = [];
    const perLimit: string[] = [];
    for (const { subject, rule } of request.tokenLimits) {
      const index = indexIn(tatKeys, this.keys.limit(tag, subject, rule));
      perLimit.push(String(index), String(rule.limit), String(rule.windowSeconds * 1000));
    }
    const initial = new Map<string, number>();
    let now = this.#clock ? this.#clock.now() : Date.now();
    for (let round = 1; round <= MAX_RESERVE_ROUNDS; round++) {
      const keys = [...tatKeys];
      const budgets = request.budgets.map(({ subject, rule }) => {
        const start = budgetPeriodStart(rule.period, now);
        const key = this.keys.budget(tag, subject, rule, start);
        return { subject, rule, start, end: budgetPeriodEnd(rule.period, now), key };
      });
      const perBudget = budgets.flatMap(({ rule, start, end, key }) => [
        String(indexIn(keys, key)),
        String(rule.amountMicros),
        String(start),
        String(end ?? -1),
        initial.has(key) ? String(initial.get(key)) : '',
      ]);
      const args = this.#budgetScriptArgs(
        tokens,
        costMicros,
        request.tokenLimits.length,
        perLimit,
        perBudget,
      );
      const reply = await this.#call('reserve', (client) =>
        script(client, RESERVE_SHA, RESERVE_SCRIPT, keys, args),
      );
      if (!Array.isArray(reply) || reply.length < 2) {
        throw new RedisLimiterError(`unexpected reply from the reserve script: ${String(reply)}`);
      }
      const code = Number(reply[0]);
      const serverNow = Number(reply[1 + (code <= 2 ? 1 : 0)]);
      if (code === 3) {
        now = serverNow;
        continue;
      }
      if (code === 4) {
        const loads = reply.slice(2).map(async (index) => {
          const budget = budgets[Number(index)];
          if (!budget) throw new RedisLimiterError(`unexpected budget index ${String(index)}`);
          const { subject, rule, start, key } = budget;
          const spent = await this.#loads.run(key, () =>
            loadBudgetSpent(request.loadSpent, subject, rule, start),
          );
          initial.set(key, spent);
        });
        await Promise.all(loads);
        continue;
      }
      return toReserveDecision(request, tag, budgets, reply);
    }
    throw new RedisLimiterError(`reserve did not settle within ${MAX_RESERVE_ROUNDS} rounds`);
  }

  /** One script (budget.lua.ts); a failure is reported to `onError` and counted, not thrown. */
  async settle(reservation: Reservation, actual: SettleActual): Promise<void> {
    assertValidActual(actual);
    const tokenDelta = actual.tokens - reservation.tokens;
    const costDelta = actual.costMicros - reservation.costMicros;
    const touchesTokens = tokenDelta !== 0 && reservation.tokenLimits.length > 0;
    const touchesBudgets = costDelta !== 0 && reservation.budgets.length > 0;
    if (!touchesTokens && !touchesBudgets) return;
    const tag = reservation.tag ?? redisReserveTagOf({ ...reservation, tag: undefined });
    if (tag === null) return;
    const keys: string[] = [];
    const perLimit = reservation.tokenLimits.flatMap(({ subject, rule }) => [
      String(indexIn(keys, this.keys.limit(tag, subject, rule))),
      String(rule.limit),
      String(rule.windowSeconds * 1000),
    ]);
    const perBudget = reservation.budgets.flatMap(({ subject, rule, periodStartMs }) => [
      String(indexIn(keys, this.keys.budget(tag, subject, rule, periodStartMs))),
      String(budgetPeriodEnd(rule.period, periodStartMs) ?? -1),
    ]);
    const args = this.#budgetScriptArgs(
      tokenDelta,
      costDelta,
      reservation.tokenLimits.length,
      perLimit,
      perBudget,
    );
    try {
      await this.#call('settle', (client) => script(client, SETTLE_SHA, SETTLE_SCRIPT, keys, args));
    } catch (error) {
      this.#failedSettles++;
      this.#onError(asError(error));
    }
  }

  async resetCredits(subject: string): Promise<void> {
    const tags = await this.#call('reset', (client) =>
      client.sMembers(this.keys.creditsTags(subject)),
    );
    // Deleting the state is what matters; a leftover dirty mark finds nothing to hand over.
    await this.#call('reset', (client) =>
      Promise.all(
        tags.flatMap((tag) => [
          client.del(this.keys.credits(tag, subject)),
          client.sRem(this.keys.dirty(subject), this.keys.dirtyMember(tag, subject)),
        ]),
      ),
    );
  }

  async drainCreditChanges(): Promise<Array<{ subject: string; state: CreditsState }>> {
    // SPOP first: a change made after a member is popped marks it again, so it is never
    // lost to a concurrent drain; each popped member is handed over by one node only.
    // Batches of POP_BATCH per shard keep each round trip short and a failure small.
    const changes = new Map<string, CreditsState>();
    let shards = Array.from({ length: this.keys.dirtyShards }, (_, i) => this.keys.dirtyShard(i));
    while (shards.length > 0) {
      const popping = shards;
      const popped = await this.#call('drain', (client) =>
        Promise.all(popping.map((key) => client.sPopCount(key, POP_BATCH))),
      );
      shards = popping.filter((_, i) => (popped[i]?.length ?? 0) >= POP_BATCH);
      await this.#handOver([...new Set(popped.flat())], changes);
    }
    return [...changes].map(([subject, state]) => ({ subject, state }));
  }

  /** Runs DRAIN_SCRIPT for each popped member; lists the ones that failed again. */
  async #handOver(members: string[], changes: Map<string, CreditsState>): Promise<void> {
    const entries = members.map((member) => {
      const [tag, subject] = JSON.parse(member) as [string, string];
      return { member, tag, subject };
    });
    const idle = [String(this.#idleMs)];
    const settled = await Promise.allSettled(
      entries.map(({ tag, subject }) =>
        this.#call('drain', (client) =>
          script(client, DRAIN_SHA, DRAIN_SCRIPT, [this.keys.credits(tag, subject)], idle),
        ),
      ),
    );
    const failed: Array<{ member: string; subject: string }> = [];
    let firstError: unknown = null;
    settled.forEach((outcome, i) => {
      const entry = entries[i]!;
      if (outcome.status === 'rejected') {
        failed.push(entry);
        firstError ??= outcome.reason;
        return;
      }
      const reply = outcome.value;
      // The same subject under two tags (its tag changed): the first one found is reported.
      if (!Array.isArray(reply) || changes.has(entry.subject)) return;
      changes.set(entry.subject, { remaining: Number(reply[0]), lastRefillAt: Number(reply[1]) });
    });
    if (failed.length === 0) return;
    // Not handed over: list them again (best effort) so that the next drain retries.
    await this.#call('drain', (client) =>
      Promise.all(
        failed.map(({ member, subject }) => client.sAdd(this.keys.dirty(subject), member)),
      ),
    ).catch((error: unknown) => this.#onError(asError(error)));
    // Return what was handed over (it is clean in Redis now); else report the failure.
    if (changes.size === 0) throw firstError;
  }

  /** Quits the client (waiting for pending replies up to `commandTimeoutMs`). Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    const client = this.#client;
    if (!client.isOpen) return;
    try {
      await withDeadline(client.close(), this.#timeoutMs, 'close timed out');
    } catch {
      if (client.isOpen) client.destroy();
    }
  }

  /**
   * ARGV of the reserve and settle scripts (budget.lua.ts), which share their head: the token
   * figure, the time ('' = the server's), the money figure, the number of token limits, the
   * budget margins, then each token limit's and each budget's fields.
   */
  #budgetScriptArgs(
    tokens: number,
    costMicros: number,
    tokenLimits: number,
    perLimit: readonly string[],
    perBudget: readonly string[],
  ): string[] {
    return [
      String(tokens),
      this.#clock ? String(this.#clock.now()) : '',
      String(costMicros),
      String(tokenLimits),
      String(this.#budgetMarginMs),
      String(this.#totalBudgetIdleMs),
      ...perLimit,
      ...perBudget,
    ];
  }

  #connect(): Client {
    const client = createClient(this.#clientOptions) as Client;
    // node-redis emits 'error' on every failed attempt; unhandled, it would crash the process.
    client.on('error', (error: Error) => this.#onError(error));
    // Connected but no answer to the handshake in time: node-redis would wait forever.
    let handshake: NodeJS.Timeout | undefined;
    client.on('connect', () => {
      clearTimeout(handshake);
      handshake = setTimeout(() => {
        if (!client.isReady) this.#replace(client, 'no answer to the connection handshake');
      }, this.#connectTimeoutMs);
      handshake.unref();
    });
    client.on('ready', () => clearTimeout(handshake));
    // Resolves once connected; node-redis keeps retrying until then (or until close).
    this.#connecting = client.connect().then(
      () => undefined,
      (error: unknown) => this.#onError(asError(error)),
    );
    return client;
  }

  /** Drops `client` (if still the current one) for a new connection. */
  #replace(client: Client, reason: string): void {
    if (this.#closed || client !== this.#client) return;
    this.#onError(new RedisLimiterError(`${reason}: reconnecting`));
    this.#lastAnswerAt = performance.now();
    this.#client = this.#connect();
    if (client.isOpen) client.destroy();
  }

  /**
   * One call with a deadline. If the client says it is connected but nothing has answered
   * for two deadlines, the connection is presumed dead (a half-open socket, a server that
   * hangs): it is dropped and a new one made, instead of timing out forever.
   */
  async #call<T>(what: string, work: (client: Client) => Promise<T>): Promise<T> {
    const client = this.#client;
    try {
      const result = await withDeadline(
        work(client),
        this.#timeoutMs,
        `Redis did not answer ${what} within ${this.#timeoutMs} ms`,
      );
      this.#lastAnswerAt = performance.now();
      return result;
    } catch (error) {
      if (
        error instanceof RedisDeadlineError &&
        client.isReady &&
        performance.now() - this.#lastAnswerAt > 2 * this.#timeoutMs
      ) {
        this.#replace(client, `no answer from Redis for ${2 * this.#timeoutMs} ms`);
      }
      throw error;
    }
  }
}

/** EVALSHA, and EVAL once when the server has not cached the script (NOSCRIPT). */
async function script(
  client: Client,
  sha: string,
  source: string,
  keys: string[],
  args: string[],
): Promise<unknown> {
  try {
    return await client.evalSha(sha, { keys, arguments: args });
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
    return await client.eval(source, { keys, arguments: args });
  }
}

function toDecision(request: LimitRequest, reply: unknown): LimitDecision {
  if (!Array.isArray(reply) || reply.length !== 3 + 2 * request.limits.length) {
    throw new RedisLimiterError(`unexpected reply from the limiter script: ${String(reply)}`);
  }
  const numbers = reply.map(Number);
  const at = (i: number) => numbers[i] ?? Number.NaN;
  const code = CODES[at(0)];
  if (code === undefined) throw new RedisLimiterError(`unexpected limiter code ${at(0)}`);
  const retryMs = at(1);
  return {
    allowed: code === 'VALID',
    code,
    limits: request.limits.map(({ subject, rule }, i) => ({
      subject,
      name: rule.name,
      limit: rule.limit,
      windowSeconds: rule.windowSeconds,
      remaining: at(3 + 2 * i),
      resetSeconds: ceilSeconds(at(4 + 2 * i)),
    })),
    retryAfterSeconds: code === 'VALID' || retryMs < 0 ? null : ceilSeconds(retryMs),
    credits: request.credits ? { remaining: at(2) } : null,
  };
}

function toReserveDecision(
  request: ReserveRequest,
  tag: string,
  budgets: Array<{ subject: string; rule: BudgetRule; start: number; end: number | null }>,
  reply: unknown[],
): ReserveDecision {
  const nLimits = request.tokenLimits.length;
  if (reply.length !== 3 + 2 * nLimits + budgets.length) {
    throw new RedisLimiterError(`unexpected reply from the reserve script: ${String(reply)}`);
  }
  const numbers = reply.map(Number);
  const at = (i: number) => numbers[i] ?? Number.NaN;
  const code = RESERVE_CODES[at(0)];
  if (code === undefined) throw new RedisLimiterError(`unexpected reserve code ${at(0)}`);
  const retryMs = at(1);
  const now = at(2);
  const allowed = code === 'VALID';
  return {
    allowed,
    code,
    tokenLimits: request.tokenLimits.map(({ subject, rule }, i) => ({
      subject,
      name: rule.name,
      limit: rule.limit,
      windowSeconds: rule.windowSeconds,
      remaining: at(3 + 2 * i),
      resetSeconds: ceilSeconds(at(4 + 2 * i)),
    })),
    budgets: budgets.map(({ subject, rule, end }, j) => {
      const spentMicros = at(3 + 2 * nLimits + j);
      return {
        subject,
        name: rule.name,
        amountMicros: rule.amountMicros,
        period: rule.period,
        spentMicros,
        remainingMicros: Math.max(0, rule.amountMicros - spentMicros),
        resetSeconds: end === null ? null : ceilSeconds(end - now),
      };
    }),
    retryAfterSeconds: allowed || retryMs < 0 ? null : ceilSeconds(retryMs),
    reservation: allowed
      ? {
          tokenLimits: request.tokenLimits.map(({ subject, rule }) => ({ subject, rule })),
          tokens: request.tokens,
          budgets: budgets.map(({ subject, rule, start }) => ({
            subject,
            rule,
            periodStartMs: start,
          })),
          costMicros: request.costMicros,
          tag,
        }
      : null,
  };
}

/** The index (1-based, as Lua's KEYS) of `key` in `keys`, appending it when new. */
function indexIn(keys: string[], key: string): number {
  const found = keys.indexOf(key);
  return found >= 0 ? found + 1 : keys.push(key);
}

function ceilSeconds(ms: number): number {
  return Math.ceil(ms / 1000);
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

class RedisDeadlineError extends RedisLimiterError {}

/** Settles with `work`, or rejects with a `RedisLimiterError` after `ms` or on any failure. */
async function withDeadline<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  try {
    return await deadline(work, ms, () => new RedisDeadlineError(message));
  } catch (error) {
    if (error instanceof RedisLimiterError || error instanceof RangeError) throw error;
    throw new RedisLimiterError(`Redis limiter: ${asError(error).message}`, { cause: error });
  }
}
