import type { LimitDecision, LimitRequest, RateLimiter } from './types.ts';

/**
 * What a node does when the shared limiter (Redis) fails, as configured policy:
 * - `local` (default): decide on this node alone, with every limit divided by the expected
 *   number of nodes, so that the cluster as a whole stays near the limit instead of
 *   multiplying it by the node count or refusing everyone;
 * - `open`: admit (limits are not enforced while Redis is down);
 * - `closed`: refuse with RATE_LIMITED and Retry-After: 1.
 * Credits fall back to this node's last known balance (in `local`), so a long outage can
 * overspend by what other nodes spend meanwhile: the policy trades that for availability.
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
