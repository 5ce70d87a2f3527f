import { BudgetLoadError } from './budget.ts';
import type {
  BudgetRule,
  LimitDecision,
  LimitRequest,
  RateLimiter,
  Reservation,
  ReserveDecision,
  ReserveRequest,
  SettleActual,
} from './types.ts';

/**
 * What a node does when the shared limiter (Redis) fails, as configured policy:
 * - `local` (default): decide on this node alone, with every limit divided by the expected
 *   number of nodes, so that the cluster as a whole stays near the limit instead of
 *   multiplying it by the node count or refusing everyone;
 * - `open`: admit (limits are not enforced while Redis is down);
 * - `closed`: refuse with RATE_LIMITED and Retry-After: 1.
 * Credits fall back to this node's last known balance (in `local`), so a long outage can
 * overspend by what other nodes spend meanwhile: the policy trades that for availability.
 *
 * `reserve` follows the same policy: `local` divides every token limit and every budget's
 * amount by the expected number of nodes, and what the store says was spent too (so each
 * node may spend its share of what is left); `open` admits without reserving; `closed`
 * refuses (RATE_LIMITED, Retry-After: 1). A reservation is settled where it was made: one
 * made on this node during an outage is settled on this node even after Redis is back. Each
 * outage starts the local budget states afresh from the store.
 * The node says so in its log and metrics when it switches, and switches back by itself.
 */
export type LimiterFailureMode = 'local' | 'open' | 'closed';

export interface FailoverOptions {
  mode: LimiterFailureMode;
  expectedNodes: number;
  /** Called once per switch: `degraded` true when falling back, false when the primary is back. */
  onStateChange?: (degraded: boolean, error?: unknown) => void;
}

export class FailoverRateLimiter implements RateLimiter {
  readonly #primary: RateLimiter;
  readonly #fallback: RateLimiter;
  readonly #options: FailoverOptions;
  #degraded = false;
  /** Outages so far: local budget states are per outage (see `reserve`). */
  #outages = 0;
  /** Reservations made by the fallback, to be settled there. */
  readonly #local = new WeakSet<Reservation>();
  #failedSettles = 0;

  constructor(primary: RateLimiter, fallback: RateLimiter, options: FailoverOptions) {
    this.#primary = primary;
    this.#fallback = fallback;
    this.#options = options;
  }

  get degraded(): boolean {
    return this.#degraded;
  }

  #setDegraded(degraded: boolean, error?: unknown): void {
    if (degraded === this.#degraded) return;
    this.#degraded = degraded;
    if (degraded) this.#outages++;
    this.#options.onStateChange?.(degraded, error);
  }

  async consume(request: LimitRequest): Promise<LimitDecision> {
    try {
      const decision = await this.#primary.consume(request);
      this.#setDegraded(false);
      return decision;
    } catch (error) {
      if (error instanceof RangeError) throw error; // a bad request, not an outage
      this.#setDegraded(true, error);
      return this.#degradedDecision(request);
    }
  }

  #degradedDecision(request: LimitRequest): Promise<LimitDecision> | LimitDecision {
    const { mode, expectedNodes } = this.#options;
    if (mode === 'open')
      return { allowed: true, code: 'VALID', limits: [], retryAfterSeconds: null, credits: null };
    if (mode === 'closed')
      return {
        allowed: false,
        code: 'RATE_LIMITED',
        limits: [],
        retryAfterSeconds: 1,
        credits: null,
      };
    const share = (limit: number) => Math.max(1, Math.floor(limit / Math.max(1, expectedNodes)));
    return this.#fallback.consume({
      ...request,
      limits: request.limits.map(({ subject, rule }) => ({
        subject,
        rule: { ...rule, limit: share(rule.limit) },
      })),
    });
  }

  async reserve(request: ReserveRequest): Promise<ReserveDecision> {
    try {
      const decision = await this.#primary.reserve(request);
      this.#setDegraded(false);
      return decision;
    } catch (error) {
      // A bad request, or the store (not Redis) failing: not an outage of the primary.
      if (error instanceof RangeError || error instanceof BudgetLoadError) throw error;
      this.#setDegraded(true, error);
      return this.#degradedReserve(request);
    }
  }

  async #degradedReserve(request: ReserveRequest): Promise<ReserveDecision> {
    const { mode } = this.#options;
    if (mode === 'open') {
      const { tokens, costMicros } = request;
      return {
        allowed: true,
        code: 'VALID',
        tokenLimits: [],
        budgets: [],
        retryAfterSeconds: null,
        // Nothing reserved, so nothing to settle: the spend is in the usage store.
        reservation: { tokenLimits: [], tokens, budgets: [], costMicros },
      };
    }
    if (mode === 'closed') {
      return {
        allowed: false,
        code: 'RATE_LIMITED',
        tokenLimits: [],
        budgets: [],
        retryAfterSeconds: 1,
        reservation: null,
      };
    }
    const nodes = Math.max(1, this.#options.expectedNodes);
    const share = (amount: number) => Math.max(1, Math.floor(amount / nodes));
    // Local states are per outage: a state left from an earlier one would not know what the
    // cluster spent in between. The outage number goes into the budget's name (kept out of
    // the answer), since a budget state is identified by subject, name and period.
    const outage = this.#outages;
    const originals = new Map<BudgetRule, BudgetRule>();
    const budgets = request.budgets.map(({ subject, rule }) => {
      const local: BudgetRule = {
        ...rule,
        name: `${rule.name}#outage-${outage}`,
        amountMicros: share(rule.amountMicros),
      };
      originals.set(local, rule);
      return { subject, rule: local };
    });
    const decision = await this.#fallback.reserve({
      tokenLimits: request.tokenLimits.map(({ subject, rule }) => ({
        subject,
        rule: { ...rule, limit: share(rule.limit) },
      })),
      tokens: request.tokens,
      budgets,
      costMicros: request.costMicros,
      loadSpent: async (subject, rule, periodStartMs) => {
        const spent = await request.loadSpent(subject, originals.get(rule) ?? rule, periodStartMs);
        // Validated by the fallback; a share of it, rounded up (never lets more through).
        return typeof spent === 'number' && Number.isSafeInteger(spent) && spent > 0
          ? Math.ceil(spent / nodes)
          : spent;
      },
    });
    if (decision.reservation) this.#local.add(decision.reservation);
    return {
      ...decision,
      budgets: decision.budgets.map((result, i) => ({
        ...result,
        name: request.budgets[i]?.rule.name ?? result.name,
      })),
    };
  }

  /** Settled where it was reserved; never rejects for a backend failure (counted). */
  async settle(reservation: Reservation, actual: SettleActual): Promise<void> {
    const backend = this.#local.has(reservation) ? this.#fallback : this.#primary;
    try {
      await backend.settle(reservation, actual);
    } catch (error) {
      if (error instanceof RangeError) throw error;
      this.#failedSettles++;
    }
  }

  /** Settles whose backend rejected, which backends should not do (they report their own). */
  get failedSettles(): number {
    return this.#failedSettles;
  }

  resetCredits(subject: string): Promise<void> {
    return Promise.allSettled([
      this.#primary.resetCredits(subject),
      this.#fallback.resetCredits(subject),
    ]).then(() => {});
  }

  async drainCreditChanges() {
    const [primary, fallback] = await Promise.allSettled([
      this.#primary.drainCreditChanges(),
      this.#fallback.drainCreditChanges(),
    ]);
    return [
      ...(primary.status === 'fulfilled' ? primary.value : []),
      ...(fallback.status === 'fulfilled' ? fallback.value : []),
    ];
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.#primary.close(), this.#fallback.close()]);
  }
}
