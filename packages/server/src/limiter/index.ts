/**
 * Rate limits and credits, decided together (all or nothing), and the gateway's token limits
 * and money budgets (reserve → settle), by pure functions, with one backend per deployment
 * shape behind `RateLimiter`. This is the folder's only public face; the shared backend
 * contract is limiter.suite.ts, imported directly by backend tests.
 */
export {
  BudgetLoadError,
  budgetPeriodEnd,
  budgetPeriodStart,
  budgetStateKey,
  invalidBudgetReason,
} from './budget.ts';
export {
  applyRefill,
  creditsRetryAfterMs,
  decideCredits,
  invalidCreditsReason,
} from './credits.ts';
export { type DecideInput, type DecideOutcome, decideLimits, limitStateKey } from './decide.ts';
export { type FailoverOptions, FailoverRateLimiter, type LimiterFailureMode } from './failover.ts';
export {
  adjustTat,
  type GcraResult,
  gcra,
  invalidRuleReason,
  MAX_TAT_AHEAD_MS,
  type Tat,
} from './gcra.ts';
export { rateLimitHeaders } from './headers.ts';
export { MemoryRateLimiter, type MemoryRateLimiterOptions } from './memory.ts';
export {
  RedisLimiterError,
  RedisLimiterKeys,
  type RedisLimitRequest,
  RedisRateLimiter,
  type RedisRateLimiterOptions,
  type RedisReserveRequest,
  redisReserveTagOf,
  redisTagOf,
} from './redis.ts';
export {
  decideReserve,
  decideSettle,
  type ReserveInput,
  type ReserveOutcome,
  type SettleInput,
  type SettleOutcome,
} from './reserve-decide.ts';
export type * from './types.ts';
export { BUDGET_PERIODS } from './types.ts';
