import type { RateLimitRule } from './types.ts';

/**
 * GCRA (generic cell rate algorithm) as a pure function of (state, now, cost, rule).
 *
 * Why GCRA: one number of state per (subject, rule), no fixed window (which lets 2× the
 * limit through around a window boundary), a full bucket of `limit` at one instant, and the
 * long-run rate is exactly `limit / window`.
 *
 * Why the odd state shape: the emission interval T = windowMs / limit is rarely a whole
 * number of ms (1000 / 3, 60000 / 7), and a float tat drifts. So time is kept exact as
 * `ms + fraction / limit`, both integers (0 ≤ fraction < limit): adding c·T is an integer
 * division with remainder, and every comparison is exact. Products that could pass 2^53 fall
 * back to BigInt.
 *
 * Guarantee (exact, and tight): for any two admitted requests at t_i ≤ t_j, the cost admitted
 * from the i-th to the j-th is at most `limit + (t_j − t_i) · limit / windowMs`. So a burst is
 * never more than `limit` (plus what the rate earned meanwhile), and the boundary trick of a
 * fixed window (limit at its end + limit at the next one's start) does not pass. It is not a
 * sliding log: a full burst followed by the steady rate puts up to 2·limit − 1 into one window
 * of length W (see README.md).
 */

/** An exact theoretical arrival time: `ms + fraction / limit` ms since the epoch. */
export interface Tat {
  readonly ms: number;
  /** Integer, 0 ≤ fraction < the rule's limit. */
  readonly fraction: number;
}

export interface GcraResult {
  allowed: boolean;
  /** The state to store when allowed; when denied, a state equivalent to the old one. */
  newTat: Tat;
  /** Whole cost-1 requests still allowed now, after this one (≥ 0). */
  remaining: number;
  /** Ms (rounded up) until the bucket is full again. */
  resetMs: number;
  /** 0 when allowed; when denied, ms until this cost would pass; null if it never can. */
  retryAfterMs: number | null;
}

/** Why a rule cannot be used, or null when it is valid. For the API's input validation. */
export function invalidRuleReason(rule: RateLimitRule): string | null {
  if (typeof rule.name !== 'string' || rule.name.length === 0) {
    return 'name must be a non-empty string';
  }
  if (!Number.isSafeInteger(rule.limit) || rule.limit < 1) {
    return 'limit must be a positive integer';
  }
  if (
    !Number.isSafeInteger(rule.windowSeconds) ||
    rule.windowSeconds < 1 ||
    !Number.isSafeInteger(rule.windowSeconds * 1000)
  ) {
    return 'windowSeconds must be a positive integer';
  }
  return null;
}

export function assertValidRule(rule: RateLimitRule): void {
  const reason = invalidRuleReason(rule);
  if (reason !== null) throw new RangeError(`invalid rate limit "${String(rule.name)}": ${reason}`);
}

export function assertValidCost(cost: number): void {
  if (!Number.isSafeInteger(cost) || cost < 0) {
    throw new RangeError(`cost must be a non-negative integer, got ${String(cost)}`);
  }
}

/** True when `tat` is strictly later than `nowMs`: the bucket is not full. */
export function isAhead(tat: Tat, nowMs: number): boolean {
  return tat.ms > nowMs || (tat.ms === nowMs && tat.fraction > 0);
}

export function gcra(
  tat: Tat | null,
  nowMs: number,
  cost: number,
  rule: RateLimitRule,
): GcraResult {
  assertValidRule(rule);
  assertValidCost(cost);
  return gcraChecked(tat, nowMs, cost, rule);
}

/** `gcra` for a rule and cost already checked (`decideLimits` checks each once per request). */
export function gcraChecked(
  tat: Tat | null,
  nowMs: number,
  cost: number,
  rule: RateLimitRule,
): GcraResult {
  const { limit } = rule;
  const windowMs = rule.windowSeconds * 1000;
  // A tat in the past is the same as a fresh bucket.
  const base: Tat = tat !== null && isAhead(tat, nowMs) ? tat : { ms: nowMs, fraction: 0 };

  if (cost > limit) return denied(base, nowMs, rule, null);

  // next = base + cost·T, with cost·T = cost·windowMs / limit = q + r / limit.
  const { q, r } = mulDivMod(cost, windowMs, limit);
  const carried = base.fraction + r;
  const next: Tat =
    carried >= limit
      ? { ms: base.ms + q + 1, fraction: carried - limit }
      : { ms: base.ms + q, fraction: carried };
  // Both sides are whole ms, so comparing the ceiling is exact: next − now ≤ windowMs.
  const nextCeil = ceilMs(next);
  if (nextCeil - nowMs <= windowMs) {
    return {
      allowed: true,
      newTat: next,
      remaining: remainingAt(next, nowMs, rule),
      resetMs: nextCeil - nowMs,
      retryAfterMs: 0,
    };
  }
  // Denied, so base is the old tat; this cost passes once now' ≥ next − windowMs.
  return denied(base, nowMs, rule, nextCeil - windowMs - nowMs);
}

function denied(
  base: Tat,
  nowMs: number,
  rule: RateLimitRule,
  retryAfterMs: number | null,
): GcraResult {
  return {
    allowed: false,
    newTat: base,
    remaining: remainingAt(base, nowMs, rule),
    resetMs: Math.max(0, ceilMs(base) - nowMs),
    retryAfterMs,
  };
}

/**
 * The longest a tat may run ahead of now (100 years). Only a settle can move a tat past the
 * window (a debt); capping it keeps every number a safe integer, in JavaScript and in Lua.
 */
export const MAX_TAT_AHEAD_MS = 3_155_760_000_000;

/**
 * Moves a tat by `delta` cost units without a limit check: what `settle` does when the real
 * count differs from the reserved estimate. `delta > 0` charges the extra even past the limit
 * (the tat runs ahead of the window: later requests wait for the debt), capped at
 * `MAX_TAT_AHEAD_MS` ahead; `delta < 0` gives units back, but never fills the bucket past
 * full. Null: a full bucket (no state to keep).
 */
export function adjustTat(
  tat: Tat | null,
  nowMs: number,
  delta: number,
  rule: RateLimitRule,
): Tat | null {
  assertValidRule(rule);
  if (!Number.isSafeInteger(delta)) {
    throw new RangeError(`delta must be an integer, got ${String(delta)}`);
  }
  const held = tat !== null && isAhead(tat, nowMs) ? tat : null;
  if (delta === 0) return held;
  const { limit } = rule;
  const { q, r } = mulDivMod(Math.abs(delta), rule.windowSeconds * 1000, limit);
  if (delta > 0) {
    const base = held ?? { ms: nowMs, fraction: 0 };
    // q may be inexact past 2^53 (and is in Lua), but then it is far beyond the cap too.
    if (q >= MAX_TAT_AHEAD_MS - (base.ms - nowMs))
      return { ms: nowMs + MAX_TAT_AHEAD_MS, fraction: 0 };
    const carried = base.fraction + r;
    return carried >= limit
      ? { ms: base.ms + q + 1, fraction: carried - limit }
      : { ms: base.ms + q, fraction: carried };
  }
  if (held === null) return null;
  const borrowed = held.fraction - r;
  const next: Tat =
    borrowed < 0
      ? { ms: held.ms - q - 1, fraction: borrowed + limit }
      : { ms: held.ms - q, fraction: borrowed };
  return isAhead(next, nowMs) ? next : null;
}

/** Whole cost-1 requests a bucket whose tat is `tat` (≥ now) still allows at `nowMs`. */
function remainingAt(tat: Tat, nowMs: number, rule: RateLimitRule): number {
  const windowMs = rule.windowSeconds * 1000;
  // remaining = floor((windowMs − (tat − now)) / T) = floor(((windowMs − a)·limit − f) / windowMs)
  // with tat − now = a + f / limit. Negative only if the clock went backwards: clamp.
  const aheadMs = tat.ms - nowMs;
  if (aheadMs > windowMs) return 0;
  const { q, r } = mulDivMod(windowMs - aheadMs, rule.limit, windowMs);
  return Math.max(0, q + floorDiv(r - tat.fraction, windowMs));
}

function ceilMs(tat: Tat): number {
  return tat.fraction > 0 ? tat.ms + 1 : tat.ms;
}

/**
 * `mulDivMod`'s answer. One object, reused: it is computed twice per rule on every limited
 * request, and a fresh pair each time would be garbage. Read it before the next call.
 */
const quotientAndRemainder = { q: 0, r: 0 };

/** Exact { q: floor(a·b / d), r: a·b mod d } for non-negative integers a, b and positive d. */
function mulDivMod(a: number, b: number, d: number): { readonly q: number; readonly r: number } {
  const result = quotientAndRemainder;
  const product = a * b;
  if (product + d <= Number.MAX_SAFE_INTEGER) {
    // The rounded quotient's floor is exact or one off either way (it can round up across
    // an integer); every product here is exact below 2^53, so the remainder says which, and
    // no floating-point `%` (a libm call) is needed.
    let q = Math.floor(product / d);
    let r = product - q * d;
    if (r < 0) {
      q -= 1;
      r += d;
    } else if (r >= d) {
      q += 1;
      r -= d;
    }
    result.q = q;
    result.r = r;
    return result;
  }
  const big = BigInt(a) * BigInt(b);
  const bigD = BigInt(d);
  result.q = Number(big / bigD);
  result.r = Number(big % bigD);
  return result;
}

/** Exact floor(n / d) for a safe integer n (any sign) and positive d. */
function floorDiv(n: number, d: number): number {
  const r = ((n % d) + d) % d;
  return (n - r) / d;
}
