import type { Clock } from '../clock/index.ts';
import { budgetPeriodEnd, budgetPeriodStart, budgetStateKey, loadBudgetSpent } from './budget.ts';
import { decideLimits, limitStateKey } from './decide.ts';
import { isAhead, type Tat } from './gcra.ts';
import {
  assertValidActual,
  assertValidReserveRequest,
  decideReserve,
  decideSettle,
} from './reserve-decide.ts';
import { SingleFlight } from './single-flight.ts';
import type {
  BudgetRule,
  CreditsState,
  LimitDecision,
  LimitRequest,
  RateLimiter,
  Reservation,
  ReserveDecision,
  ReserveRequest,
  SettleActual,
} from './types.ts';

/**
 * The one-node limiter: states in Maps, decided by `decideLimits`.
 *
 * Atomicity: `consume` reads, decides and writes synchronously, before its first (and only)
 * implicit await, so concurrent calls in one process are serialised by the event loop and can
 * never admit more than the limit or spend credits below zero.
 *
 * Memory stays bounded:
 * - A rate-limit state whose tat is not ahead of now is the same as no state, so the sweep
 *   drops it. What remains is at most the (subject, rule) pairs used within their window.
 * - A credits state is kept while it has changes not yet drained (the store does not have
 *   them), and otherwise until it has been untouched for `creditsIdleMs`; after that the
 *   next request starts again from the stored `initial`, which by then is up to date as long
 *   as the integrator drains and writes back more often than that.
 * - A budget state is kept until `budgetMarginMs` after its period ended (so that a late
 *   settle still lands in it), a `total` one until untouched for `totalBudgetIdleMs`; and
 *   never more than `maxBudgetStates`, the least recently used going first. A forgotten
 *   state is loaded again from the store (`loadSpent`) when next used.
 *
 * Budgets: `reserve` loads the states it does not hold first (awaiting `loadSpent`, one call
 * per state at a time), then reads, decides and writes in one turn of the event loop, like
 * `consume`; a state that another call initialised meanwhile wins over the loaded value.
 */
export interface MemoryRateLimiterOptions {
  clock: Clock;
  /** How often the sweep runs, in real time (the timer is unref()ed); 0: only `sweep()`. */
  sweepIntervalMs?: number;
  /** Clean (drained) credits states untouched this long are forgotten. */
  creditsIdleMs?: number;
  /** A budget state is kept this long after its period ended, for late settles. Default 1 h. */
  budgetMarginMs?: number;
  /** A `total` budget state untouched this long is forgotten. Default 7 days. */
  totalBudgetIdleMs?: number;
  /** At most this many budget states; the least recently used are forgotten. Default 100,000. */
  maxBudgetStates?: number;
}

interface BudgetEntry {
  spent: number;
  /** The end of the state's period (epoch ms); null for `total`. */
  endMs: number | null;
  touchedAt: number;
}

interface CreditsEntry {
  state: CreditsState;
  touchedAt: number;
}

export class MemoryRateLimiter implements RateLimiter {
  readonly #clock: Clock;
  readonly #creditsIdleMs: number;
  readonly #tats = new Map<string, Tat>();
  readonly #credits = new Map<string, CreditsEntry>();
  /** Credits subjects changed since the last drain. */
  readonly #dirty = new Set<string>();
  readonly #budgetMarginMs: number;
  readonly #totalBudgetIdleMs: number;
  readonly #maxBudgetStates: number;
  /** By `budgetStateKey`, least recently used first. */
  readonly #budgets = new Map<string, BudgetEntry>();
  readonly #loads = new SingleFlight<number>();
  #timer: NodeJS.Timeout | null = null;

  constructor(options: MemoryRateLimiterOptions) {
    this.#clock = options.clock;
    this.#creditsIdleMs = options.creditsIdleMs ?? 60 * 60_000;
    this.#budgetMarginMs = options.budgetMarginMs ?? 60 * 60_000;
    this.#totalBudgetIdleMs = options.totalBudgetIdleMs ?? 7 * 24 * 60 * 60_000;
    this.#maxBudgetStates = Math.max(1, options.maxBudgetStates ?? 100_000);
    const sweepIntervalMs = options.sweepIntervalMs ?? 60_000;
    if (sweepIntervalMs > 0) {
      this.#timer = setInterval(() => this.sweep(), sweepIntervalMs);
      this.#timer.unref();
    }
  }

  async consume(request: LimitRequest): Promise<LimitDecision> {
    return this.consumeNow(request);
  }

  /** `consume` without the promise: reads, decides and commits at once. */
  consumeNow(request: LimitRequest, nowMs?: number): LimitDecision {
    const now = nowMs ?? this.#clock.now();
    const requested = request.credits ?? null;
    const held = requested ? this.#credits.get(requested.subject) : undefined;
    const before = held?.state ?? requested?.initial ?? null;

    const { limits } = request;
    // limitStateKey remembers each rule's key, so this builds no text on the hot path.
    const keys = new Array<string>(limits.length);
    const tats = new Array<Tat | null>(limits.length);
    for (let i = 0; i < limits.length; i++) {
      keys[i] = limitStateKey(limits[i]!.subject, limits[i]!.rule);
      tats[i] = this.#tats.get(keys[i]!) ?? null;
    }
    const outcome = decideLimits(
      {
        limits,
        tats,
        keys,
        credits: requested && before ? { ...requested, state: before } : null,
        cost: request.cost,
      },
      now,
    );

    for (let i = 0; i < outcome.tats.length; i++) this.#tats.set(keys[i]!, outcome.tats[i]!);
    if (requested && outcome.credits) {
      this.#credits.set(requested.subject, { state: outcome.credits, touchedAt: now });
      if (
        before === null ||
        before.remaining !== outcome.credits.remaining ||
        before.lastRefillAt !== outcome.credits.lastRefillAt
      ) {
        this.#dirty.add(requested.subject);
      }
    }
    return outcome.decision;
  }

  async reserve(request: ReserveRequest): Promise<ReserveDecision> {
    assertValidReserveRequest(request);
    // Values loaded by this call, for states it found missing (used only if still missing).
    const loaded = new Map<string, number>();
    for (;;) {
      const now = this.#clock.now();
      const missing = new Map<string, Promise<void>>();
      for (const { subject, rule } of request.budgets) {
        const start = budgetPeriodStart(rule.period, now);
        const key = budgetStateKey(subject, rule, start);
        if (this.#budgets.has(key) || loaded.has(key) || missing.has(key)) continue;
        const load = this.#loads.run(key, async () => {
          const spent = await loadBudgetSpent(request.loadSpent, subject, rule, start);
          // Set if absent: a state written meanwhile already counts more than the store.
          if (!this.#budgets.has(key)) this.#touchBudget(key, spent, rule.period, start);
          return spent;
        });
        missing.set(
          key,
          load.then((spent) => {
            loaded.set(key, spent);
          }),
        );
      }
      if (missing.size === 0) return this.#reserveNow(request, now, loaded);
      await Promise.all(missing.values());
      // The clock may have crossed into a new period meanwhile: look again.
    }
  }

  /** Reads, decides and writes without awaiting: atomic within this process. */
  #reserveNow(request: ReserveRequest, now: number, loaded: Map<string, number>): ReserveDecision {
    const budgets = request.budgets.map(({ subject, rule }) => {
      const start = budgetPeriodStart(rule.period, now);
      const key = budgetStateKey(subject, rule, start);
      const spent = this.#budgets.get(key)?.spent ?? loaded.get(key) ?? 0;
      return { subject, rule, spent, key, start };
    });
    const outcome = decideReserve(
      {
        tokenLimits: request.tokenLimits.map(({ subject, rule }) => ({
          subject,
          rule,
          tat: this.#tats.get(limitStateKey(subject, rule)) ?? null,
        })),
        tokens: request.tokens,
        budgets,
        costMicros: request.costMicros,
      },
      now,
    );
    for (const [key, tat] of outcome.tats) this.#tats.set(key, tat);
    // Every state read is kept (a denial too), so the next request needs no load.
    for (const { rule, key, start, spent } of budgets) {
      this.#touchBudget(key, outcome.spent.get(key) ?? spent, rule.period, start);
    }
    return outcome.decision;
  }

  async settle(reservation: Reservation, actual: SettleActual): Promise<void> {
    assertValidActual(actual);
    const now = this.#clock.now();
    const outcome = decideSettle(
      {
        tokenLimits: reservation.tokenLimits.map(({ subject, rule }) => ({
          subject,
          rule,
          tat: this.#tats.get(limitStateKey(subject, rule)) ?? null,
        })),
        budgets: reservation.budgets.map(({ subject, rule, periodStartMs }) => ({
          subject,
          rule,
          periodStartMs,
          spent: this.#budgets.get(budgetStateKey(subject, rule, periodStartMs))?.spent ?? null,
        })),
        reserved: { tokens: reservation.tokens, costMicros: reservation.costMicros },
        actual,
      },
      now,
    );
    for (const [key, tat] of outcome.tats) {
      if (tat === null) this.#tats.delete(key);
      else this.#tats.set(key, tat);
    }
    for (const { rule, subject, periodStartMs } of reservation.budgets) {
      const key = budgetStateKey(subject, rule, periodStartMs);
      const spent = outcome.spent.get(key);
      if (spent !== undefined) this.#touchBudget(key, spent, rule.period, periodStartMs);
    }
  }

  /** Writes a budget state as the most recently used, forgetting the oldest past the bound. */
  #touchBudget(key: string, spent: number, period: BudgetRule['period'], start: number): void {
    this.#budgets.delete(key);
    this.#budgets.set(key, {
      spent,
      endMs: budgetPeriodEnd(period, start),
      touchedAt: this.#clock.now(),
    });
    while (this.#budgets.size > this.#maxBudgetStates) {
      const oldest = this.#budgets.keys().next().value;
      if (oldest === undefined) break;
      this.#budgets.delete(oldest);
    }
  }

  async resetCredits(subject: string): Promise<void> {
    // A pending write-back would overwrite the operator's new value: drop it too.
    this.#credits.delete(subject);
    this.#dirty.delete(subject);
  }

  async drainCreditChanges(): Promise<Array<{ subject: string; state: CreditsState }>> {
    const changes: Array<{ subject: string; state: CreditsState }> = [];
    for (const subject of this.#dirty) {
      const entry = this.#credits.get(subject);
      if (entry) changes.push({ subject, state: { ...entry.state } });
    }
    this.#dirty.clear();
    return changes;
  }

  /** Drops states that carry no information any more (see the class comment). */
  sweep(): void {
    const now = this.#clock.now();
    for (const [key, tat] of this.#tats) {
      if (!isAhead(tat, now)) this.#tats.delete(key);
    }
    for (const [subject, entry] of this.#credits) {
      if (!this.#dirty.has(subject) && now - entry.touchedAt >= this.#creditsIdleMs) {
        this.#credits.delete(subject);
      }
    }
    for (const [key, entry] of this.#budgets) {
      const expired =
        entry.endMs === null
          ? now - entry.touchedAt >= this.#totalBudgetIdleMs
          : now >= entry.endMs + this.#budgetMarginMs;
      if (expired) this.#budgets.delete(key);
    }
  }

  get size(): { limits: number; credits: number; budgets: number } {
    return { limits: this.#tats.size, credits: this.#credits.size, budgets: this.#budgets.size };
  }

  /** Stops the sweep. States are kept, so a last `drainCreditChanges` still has them. */
  async close(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }
}
