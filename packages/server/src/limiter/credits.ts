import type { CreditsConfig, CreditsState } from './types.ts';

/**
 * Credits (a spendable balance with optional refill) as pure functions of state, config and
 * the time, so that a backend only stores `{ remaining, lastRefillAt }` and never runs timers.
 *
 * Refill happens in whole intervals counted from `lastRefillAt`, and `lastRefillAt` moves by
 * whole intervals only: refilling at t1 and then at t2 gives exactly what refilling once at
 * t2 gives, so no drift however often (or rarely) it is called.
 */

/** Why a credits config or state cannot be used, or null when valid. For input validation. */
export function invalidCreditsReason(config: CreditsConfig, state: CreditsState): string | null {
  if (!Number.isSafeInteger(state.remaining) || state.remaining < 0) {
    return 'remaining must be a non-negative integer';
  }
  if (!Number.isSafeInteger(state.lastRefillAt)) return 'lastRefillAt must be an integer (ms)';
  const { refill } = config;
  if (refill === null) return null;
  if (!Number.isSafeInteger(refill.amount) || refill.amount < 0) {
    return 'refill.amount must be a non-negative integer';
  }
  if (
    !Number.isSafeInteger(refill.intervalSeconds) ||
    refill.intervalSeconds < 1 ||
    !Number.isSafeInteger(refill.intervalSeconds * 1000)
  ) {
    return 'refill.intervalSeconds must be a positive integer';
  }
  if (refill.mode !== 'add' && refill.mode !== 'reset') return 'refill.mode must be add or reset';
  return null;
}

export function assertValidCredits(config: CreditsConfig, state: CreditsState): void {
  const reason = invalidCreditsReason(config, state);
  if (reason !== null) throw new RangeError(`invalid credits: ${reason}`);
}

/** The state at `nowMs` after every whole refill interval that has elapsed. */
export function applyRefill(
  state: CreditsState,
  config: CreditsConfig,
  nowMs: number,
): CreditsState {
  const { refill } = config;
  if (refill === null) return state;
  const intervalMs = refill.intervalSeconds * 1000;
  const elapsedMs = nowMs - state.lastRefillAt;
  if (elapsedMs < intervalMs) return state;
  const intervals = (elapsedMs - (elapsedMs % intervalMs)) / intervalMs;
  const remaining =
    refill.mode === 'reset'
      ? refill.amount
      : Math.min(Number.MAX_SAFE_INTEGER, state.remaining + refill.amount * intervals);
  return { remaining, lastRefillAt: state.lastRefillAt + intervals * intervalMs };
}

/** Spends `cost` if the balance covers it (cost 0 always passes and spends nothing). */
export function decideCredits(
  state: CreditsState,
  cost: number,
): { allowed: boolean; state: CreditsState } {
  if (state.remaining < cost) return { allowed: false, state };
  if (cost === 0) return { allowed: true, state };
  return {
    allowed: true,
    state: { remaining: state.remaining - cost, lastRefillAt: state.lastRefillAt },
  };
}

/**
 * Ms from `nowMs` until a request of `cost` would pass, for a state already refilled at
 * `nowMs`: 0 if it passes now; the refill that first covers it (`add`: as many intervals as
 * needed; `reset`: the next one, if `amount` covers the cost); null if no refill ever will.
 */
export function creditsRetryAfterMs(
  state: CreditsState,
  config: CreditsConfig,
  cost: number,
  nowMs: number,
): number | null {
  if (state.remaining >= cost) return 0;
  const { refill } = config;
  if (refill === null || refill.amount === 0) return null;
  const intervalMs = refill.intervalSeconds * 1000;
  let intervals = 1;
  if (refill.mode === 'reset') {
    if (refill.amount < cost) return null;
  } else {
    const missing = cost - state.remaining;
    const rest = missing % refill.amount;
    intervals = (missing - rest) / refill.amount + (rest > 0 ? 1 : 0);
  }
  return Math.max(0, state.lastRefillAt + intervals * intervalMs - nowMs);
}
