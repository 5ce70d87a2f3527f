import type { Clock } from '../clock/index.ts';
import { decideLimits, limitStateKey } from './decide.ts';
import { isAhead, type Tat } from './gcra.ts';
import type { CreditsState, LimitDecision, LimitRequest, RateLimiter } from './types.ts';

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
 */
export interface MemoryRateLimiterOptions {
  clock: Clock;
  /** How often the sweep runs, in real time (the timer is unref()ed); 0: only `sweep()`. */
  sweepIntervalMs?: number;
  /** Clean (drained) credits states untouched this long are forgotten. */
  creditsIdleMs?: number;
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
  #timer: NodeJS.Timeout | null = null;

  constructor(options: MemoryRateLimiterOptions) {
    this.#clock = options.clock;
    this.#creditsIdleMs = options.creditsIdleMs ?? 60 * 60_000;
    const sweepIntervalMs = options.sweepIntervalMs ?? 60_000;
    if (sweepIntervalMs > 0) {
      this.#timer = setInterval(() => this.sweep(), sweepIntervalMs);
      this.#timer.unref();
    }
  }

  async consume(request: LimitRequest): Promise<LimitDecision> {
    // Nothing below awaits: read, decide and commit happen in one turn of the event loop.
    const now = this.#clock.now();
    const requested = request.credits ?? null;
    const held = requested ? this.#credits.get(requested.subject) : undefined;
    const before = held?.state ?? requested?.initial ?? null;

    const outcome = decideLimits(
      {
        limits: request.limits.map(({ subject, rule }) => ({
          subject,
          rule,
          tat: this.#tats.get(limitStateKey(subject, rule)) ?? null,
        })),
        credits: requested && before ? { ...requested, state: before } : null,
        cost: request.cost,
      },
      now,
    );

    for (const [key, tat] of outcome.tats) this.#tats.set(key, tat);
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
  }

  get size(): { limits: number; credits: number } {
    return { limits: this.#tats.size, credits: this.#credits.size };
  }

  /** Stops the sweep. States are kept, so a last `drainCreditChanges` still has them. */
  async close(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }
}
