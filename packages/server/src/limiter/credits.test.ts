import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  applyRefill,
  creditsRetryAfterMs,
  decideCredits,
  invalidCreditsReason,
} from './credits.ts';
import type { CreditsConfig } from './types.ts';

const T0 = Date.UTC(2027, 0, 1);
const HOUR = 3_600_000;
const add = (amount: number, intervalSeconds = 3600): CreditsConfig => ({
  refill: { amount, intervalSeconds, mode: 'add' },
});
const reset = (amount: number, intervalSeconds = 3600): CreditsConfig => ({
  refill: { amount, intervalSeconds, mode: 'reset' },
});

describe('applyRefill', () => {
  test('no refill configured: the state is untouched, however late', () => {
    const state = { remaining: 3, lastRefillAt: T0 };
    assert.equal(applyRefill(state, { refill: null }, T0 + 1000 * HOUR), state);
  });

  test('add: nothing before a whole interval, amount per whole interval from then on', () => {
    const state = { remaining: 3, lastRefillAt: T0 };
    assert.deepEqual(applyRefill(state, add(10), T0 + HOUR - 1), state);
    assert.deepEqual(applyRefill(state, add(10), T0 + HOUR), {
      remaining: 13,
      lastRefillAt: T0 + HOUR,
    });
    assert.deepEqual(applyRefill(state, add(10), T0 + 2 * HOUR - 1), {
      remaining: 13,
      lastRefillAt: T0 + HOUR,
    });
    assert.deepEqual(applyRefill(state, add(10), T0 + 5 * HOUR + 123), {
      remaining: 53,
      lastRefillAt: T0 + 5 * HOUR,
    });
  });

  test('reset: back to exactly amount (down as well as up), lastRefillAt on the grid', () => {
    assert.deepEqual(
      applyRefill({ remaining: 3, lastRefillAt: T0 }, reset(100), T0 + 7 * HOUR + 5),
      {
        remaining: 100,
        lastRefillAt: T0 + 7 * HOUR,
      },
    );
    assert.deepEqual(applyRefill({ remaining: 500, lastRefillAt: T0 }, reset(100), T0 + HOUR), {
      remaining: 100,
      lastRefillAt: T0 + HOUR,
    });
    const early = { remaining: 3, lastRefillAt: T0 };
    assert.deepEqual(applyRefill(early, reset(100), T0 + HOUR - 1), early);
  });

  test('a lastRefillAt in the future (clock skew between nodes) refills nothing', () => {
    const state = { remaining: 3, lastRefillAt: T0 + HOUR };
    assert.deepEqual(applyRefill(state, add(10), T0), state);
  });

  test('add saturates instead of leaving safe integers', () => {
    const state = { remaining: Number.MAX_SAFE_INTEGER - 5, lastRefillAt: T0 };
    assert.equal(applyRefill(state, add(10, 1), T0 + 5000).remaining, Number.MAX_SAFE_INTEGER);
  });

  test('no drift: refilling at any sequence of times equals refilling once at the end', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<'add' | 'reset'>('add', 'reset'),
        fc.integer({ min: 0, max: 1000 }),
        fc.integer({ min: 1, max: 7200 }),
        fc.array(fc.integer({ min: 0, max: 3 * HOUR }), { maxLength: 30 }),
        (mode, amount, intervalSeconds, gaps) => {
          const config: CreditsConfig = { refill: { amount, intervalSeconds, mode } };
          let state = { remaining: 5, lastRefillAt: T0 };
          let now = T0;
          for (const gap of gaps) {
            now += gap;
            state = applyRefill(state, config, now);
          }
          assert.deepEqual(state, applyRefill({ remaining: 5, lastRefillAt: T0 }, config, now));
          assert.equal((state.lastRefillAt - T0) % (intervalSeconds * 1000), 0);
          assert.ok(now - state.lastRefillAt < intervalSeconds * 1000);
        },
      ),
    );
  });
});

describe('decideCredits', () => {
  test('spends when covered, exactly down to 0, never below', () => {
    const state = { remaining: 3, lastRefillAt: T0 };
    assert.deepEqual(decideCredits(state, 3), {
      allowed: true,
      state: { remaining: 0, lastRefillAt: T0 },
    });
    assert.deepEqual(decideCredits(state, 4), { allowed: false, state });
    assert.deepEqual(decideCredits({ remaining: 0, lastRefillAt: T0 }, 1).allowed, false);
  });

  test('cost 0 passes and spends nothing, even at 0 (as Unkey does)', () => {
    const empty = { remaining: 0, lastRefillAt: T0 };
    assert.deepEqual(decideCredits(empty, 0), { allowed: true, state: empty });
  });

  test('any sequence of spends never goes negative and admits exactly what was there', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 500 }),
        fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 100 }),
        (start, costs) => {
          let state = { remaining: start, lastRefillAt: T0 };
          let spent = 0;
          for (const cost of costs) {
            const result = decideCredits(state, cost);
            assert.equal(result.allowed, state.remaining >= cost);
            if (result.allowed) spent += cost;
            state = result.state;
            assert.ok(state.remaining >= 0);
          }
          assert.equal(state.remaining, start - spent);
        },
      ),
    );
  });
});

describe('creditsRetryAfterMs', () => {
  const state = { remaining: 2, lastRefillAt: T0 };
  const now = T0 + 15 * 60_000;

  test('0 when covered now; null without a refill that ever covers it', () => {
    assert.equal(creditsRetryAfterMs(state, add(10), 2, now), 0);
    assert.equal(creditsRetryAfterMs(state, { refill: null }, 3, now), null);
    assert.equal(creditsRetryAfterMs(state, add(0), 3, now), null);
    assert.equal(creditsRetryAfterMs(state, reset(5), 6, now), null);
  });

  test('reset: the next refill; add: the refill that first covers the cost', () => {
    assert.equal(creditsRetryAfterMs(state, reset(5), 5, now), 45 * 60_000);
    assert.equal(creditsRetryAfterMs(state, add(10), 12, now), 45 * 60_000);
    assert.equal(creditsRetryAfterMs(state, add(10), 13, now), HOUR + 45 * 60_000);
    assert.equal(creditsRetryAfterMs(state, add(10), 32, now), 2 * HOUR + 45 * 60_000);
  });
});

describe('invalidCreditsReason', () => {
  test('names what is wrong', () => {
    const ok = { remaining: 1, lastRefillAt: T0 };
    assert.equal(invalidCreditsReason(add(1), ok), null);
    assert.equal(invalidCreditsReason({ refill: null }, ok), null);
    assert.match(invalidCreditsReason(add(1), { ...ok, remaining: -1 }) ?? '', /remaining/);
    assert.match(invalidCreditsReason(add(1), { ...ok, remaining: 0.5 }) ?? '', /remaining/);
    assert.match(invalidCreditsReason(add(-1), ok) ?? '', /amount/);
    assert.match(invalidCreditsReason(add(1, 0), ok) ?? '', /intervalSeconds/);
    assert.match(invalidCreditsReason(add(1, 1.5), ok) ?? '', /intervalSeconds/);
    const bad = {
      refill: { amount: 1, intervalSeconds: 1, mode: 'double' },
    } as unknown as CreditsConfig;
    assert.match(invalidCreditsReason(bad, ok) ?? '', /mode/);
  });
});
