/**
 * The limiter's contract. Every backend (in-process memory now, Redis for many nodes later)
 * implements `RateLimiter` and passes the same suite (limiter.suite.ts); the decision itself
 * is one pure function (decide.ts), so backends differ only in where state lives and how a
 * read-decide-write is made atomic.
 */

/** A named rate limit: at most `limit` cost units per `windowSeconds` (GCRA, see gcra.ts). */
export interface RateLimitRule {
  name: string;
  /** Positive integer. */
  limit: number;
  /** Positive integer (the `w` of the RateLimit-Policy header is an integer too). */
  windowSeconds: number;
  /**
   * What the limit counts. `requests` (the default when absent) is spent by every
   * verification; `tokens` (TPM-style) only by the gateway, which reserves an estimate before
   * forwarding and settles the real count after (`RateLimiter.reserve` / `settle`).
   */
  unit?: 'requests' | 'tokens';
}

/** Calendar periods in UTC; `total` never resets. */
export const BUDGET_PERIODS = ['hour', 'day', 'week', 'month', 'total'] as const;
export type BudgetPeriod = (typeof BUDGET_PERIODS)[number];

/**
 * A money budget: at most `amountMicros` (millionths of the price table's currency, USD by
 * default) spent per calendar `period`. Enforced by the gateway with reserve → settle.
 */
export interface BudgetRule {
  name: string;
  /** Positive integer. */
  amountMicros: number;
  period: BudgetPeriod;
}

export interface CreditsRefill {
  /** Non-negative integer. */
  amount: number;
  /** Positive integer. */
  intervalSeconds: number;
  /** `add`: `amount` more per elapsed interval; `reset`: back to exactly `amount`. */
  mode: 'add' | 'reset';
}

export interface CreditsConfig {
  refill: CreditsRefill | null;
}

export interface CreditsState {
  /** Non-negative integer. */
  remaining: number;
  /** Epoch ms of the last (possibly virtual) refill; advances by whole intervals only. */
  lastRefillAt: number;
}

export interface LimitRequest {
  /** Every (subject, rule) to check and spend from, e.g. the key's rules and its owner's. */
  limits: Array<{ subject: string; rule: RateLimitRule }>;
  /** `initial` is the stored state, used only when the backend holds none for `subject`. */
  credits?: { subject: string; config: CreditsConfig; initial: CreditsState } | null;
  /** Integer ≥ 0; 0 checks without spending. */
  cost: number;
}

export type LimitCode = 'VALID' | 'RATE_LIMITED' | 'QUOTA_EXCEEDED';

export interface LimitResult {
  subject: string;
  name: string;
  limit: number;
  windowSeconds: number;
  /** Whole cost-1 requests still allowed now, after this decision. */
  remaining: number;
  /** Seconds (rounded up) until the bucket is full again. */
  resetSeconds: number;
}

export interface LimitDecision {
  allowed: boolean;
  code: LimitCode;
  /** One per requested limit, in request order. */
  limits: LimitResult[];
  /** When denied: seconds (rounded up) until the same request could pass; null if never/unknown. */
  retryAfterSeconds: number | null;
  credits: { remaining: number } | null;
}

/**
 * The gateway's request: token limits and money budgets, reserved before forwarding with an
 * estimate and settled after with the real figures (`RateLimiter.reserve` / `settle`).
 */
export interface ReserveRequest {
  /** Token rules (unit 'tokens') with their subject, e.g. `key:<id>` / `owner:<id>`. */
  tokenLimits: Array<{ subject: string; rule: RateLimitRule }>;
  /** Integer ≥ 0: the estimate of tokens this request will use. */
  tokens: number;
  budgets: Array<{ subject: string; rule: BudgetRule }>;
  /** Integer ≥ 0: the estimated cost in micros. */
  costMicros: number;
  /**
   * What was already spent in the period starting at `periodStartMs` (from the usage store),
   * for a budget state the backend does not hold (first use since start, Redis flushed, …).
   * Called at most once per (subject, budget name, period start) per node at a time (single
   * flight). Must resolve to a non-negative safe integer; `total` budgets pass 0 as the start.
   */
  loadSpent(subject: string, rule: BudgetRule, periodStartMs: number): Promise<number>;
}

export type ReserveCode = 'VALID' | 'RATE_LIMITED' | 'BUDGET_EXCEEDED';

export interface BudgetResult {
  subject: string;
  name: string;
  amountMicros: number;
  period: BudgetPeriod;
  /** Spent in the current period including pending reservations, after this decision. */
  spentMicros: number;
  /** max(0, amountMicros − spentMicros). */
  remainingMicros: number;
  /** Seconds (rounded up) until the period ends; null for `total`. */
  resetSeconds: number | null;
}

/**
 * What `settle` needs to undo an estimate: pass it back unchanged. Its fields are the
 * backends' business (plain data: the states it was made against, period starts included).
 */
export interface Reservation {
  readonly tokenLimits: ReadonlyArray<{ readonly subject: string; readonly rule: RateLimitRule }>;
  readonly tokens: number;
  readonly budgets: ReadonlyArray<{
    readonly subject: string;
    readonly rule: BudgetRule;
    /** The period the estimate was charged to; a settle goes there even after a rollover. */
    readonly periodStartMs: number;
  }>;
  readonly costMicros: number;
  /** Redis: the hash tag every state of the reservation lives under. */
  readonly tag?: string;
}

export interface ReserveDecision {
  allowed: boolean;
  code: ReserveCode;
  /** One per token limit, in request order. */
  tokenLimits: LimitResult[];
  /** One per budget, in request order. */
  budgets: BudgetResult[];
  /**
   * When denied: seconds (rounded up) until the same request could pass (the token limits'
   * wait, or the end of a budget's period); null if never (a `total` budget, or an estimate
   * larger than a whole limit or budget).
   */
  retryAfterSeconds: number | null;
  /** Pass to `settle`; null when denied (nothing was spent). */
  reservation: Reservation | null;
}

/** The real figures of a reserved request, known once the upstream answered. */
export interface SettleActual {
  /** Integer ≥ 0. */
  tokens: number;
  /** Integer ≥ 0. */
  costMicros: number;
}

export interface RateLimiter {
  /** Decides and spends atomically: all limits and credits, or nothing. */
  consume(request: LimitRequest): Promise<LimitDecision>;
  /**
   * `consume` answered without a promise, offered by backends that decide in this process
   * (memory), so that a verification with limits stays synchronous on a cache hit. `nowMs`:
   * the caller's reading of the limiter's clock, when it has just taken one (else the
   * backend reads it). Throws a RangeError where `consume` would reject with one.
   */
  consumeNow?(request: LimitRequest, nowMs?: number): LimitDecision;
  /**
   * Decides and reserves atomically: every token limit and budget is charged the estimate,
   * or nothing is (RATE_LIMITED first, then BUDGET_EXCEEDED). Rejects with a RangeError for
   * an invalid request and with a `BudgetLoadError` when `loadSpent` fails.
   */
  reserve(request: ReserveRequest): Promise<ReserveDecision>;
  /**
   * Replaces the reserved estimate by the real figures: tokens given back move the bucket
   * back (never fuller than full), extra tokens are charged past the limit (a debt); budgets
   * get `actual − reserved` (never below 0) in the period the reservation was made in.
   * Never rejects for a backend failure (the response has been sent): it is reported to the
   * backend's `onError` and counted. Rejects only for invalid figures (RangeError).
   */
  settle(reservation: Reservation, actual: SettleActual): Promise<void>;
  /** Operator changed the stored credits (API update): forget the backend's state for that subject. */
  resetCredits(subject: string): Promise<void>;
  /** Credits changed since the last call, to write back to the store (subject → state). */
  drainCreditChanges(): Promise<Array<{ subject: string; state: CreditsState }>>;
  close(): Promise<void>;
}
