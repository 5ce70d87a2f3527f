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

export interface RateLimiter {
  /** Decides and spends atomically: all limits and credits, or nothing. */
  consume(request: LimitRequest): Promise<LimitDecision>;
  /** Operator changed the stored credits (API update): forget the backend's state for that subject. */
  resetCredits(subject: string): Promise<void>;
  /** Credits changed since the last call, to write back to the store (subject → state). */
  drainCreditChanges(): Promise<Array<{ subject: string; state: CreditsState }>>;
  close(): Promise<void>;
}
