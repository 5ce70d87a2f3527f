/**
 * Rate limits and credits, decided together (all or nothing) by pure functions, with one
 * backend per deployment shape behind `RateLimiter`. This is the folder's only public face;
 * the shared backend contract is limiter.suite.ts, imported directly by backend tests.
 */
export {
  applyRefill,
  creditsRetryAfterMs,
  decideCredits,
  invalidCreditsReason,
} from './credits.ts';
export { type DecideInput, type DecideOutcome, decideLimits, limitStateKey } from './decide.ts';
export { type FailoverOptions, FailoverRateLimiter, type LimiterFailureMode } from './failover.ts';
export { type GcraResult, gcra, invalidRuleReason, type Tat } from './gcra.ts';
export { rateLimitHeaders } from './headers.ts';
export { MemoryRateLimiter, type MemoryRateLimiterOptions } from './memory.ts';
export {
  RedisLimiterError,
  RedisLimiterKeys,
  type RedisLimitRequest,
  RedisRateLimiter,
  type RedisRateLimiterOptions,
  redisTagOf,
} from './redis.ts';
export type * from './types.ts';
