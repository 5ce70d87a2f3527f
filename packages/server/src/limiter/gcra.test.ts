import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { gcra, invalidRuleReason, type Tat } from './gcra.ts';
import type { RateLimitRule } from './types.ts';

const EPOCH = Date.UTC(2027, 2, 14, 1, 59, 26, 535);
const LIMITS = [1, 2, 3, 7, 10, 100];
const WINDOWS = [1, 60, 3600];
const COMBOS = LIMITS.flatMap((limit) =>
  WINDOWS.map((windowSeconds): RateLimitRule => ({ name: 'requests', limit, windowSeconds })),
);
const label = (rule: RateLimitRule) => `${rule.limit} per ${rule.windowSeconds} s`;

/** Admits requests of `cost` one after another at `now`; returns how many passed and the tat. */
function burst(rule: RateLimitRule, tat: Tat | null, now: number, count: number, cost = 1) {
  let admitted = 0;
  let state = tat;
  for (let i = 0; i < count; i++) {
    const result = gcra(state, now, cost, rule);
    if (result.allowed) {
      admitted++;
      state = result.newTat;
    }
  }
  return { admitted, tat: state };
}

/**
 * An independent model: the same GCRA with time in BigInt units of 1/limit ms, where the
 * emission interval is exactly windowMs units. No fractions, no carries, no fallbacks.
 */
function oracle(tat: bigint | null, now: number, cost: number, rule: RateLimitRule) {
  const L = BigInt(rule.limit);
  const W = BigInt(rule.windowSeconds * 1000);
  const nowU = BigInt(now) * L;
  const base = tat !== null && tat > nowU ? tat : nowU;
  const next = base + BigInt(cost) * W;
  const allowed = next - nowU <= W * L;
  const after = allowed ? next : base;
  const ceilDiv = (a: bigint, b: bigint) => (a + b - 1n) / b;
  const remaining = (W * L - (after - nowU)) / W;
  return {
    allowed,
    tat: after,
    remaining: Number(remaining < 0n ? 0n : remaining),
    resetMs: Number(ceilDiv(after - nowU, L)),
    retryAfterMs: allowed
      ? 0
      : cost > rule.limit
        ? null
        : Number(ceilDiv(next - W * L, L) - BigInt(now)),
  };
}

const toUnits = (tat: Tat, rule: RateLimitRule) =>
  BigInt(tat.ms) * BigInt(rule.limit) + BigInt(tat.fraction);

/** A stream of requests: gaps mostly on the scale of the emission interval, sometimes long. */
function streamArb(rule: RateLimitRule, maxLength: number) {
  const windowMs = rule.windowSeconds * 1000;
  const emission = Math.ceil(windowMs / rule.limit);
  return fc.array(
    fc.record({
      gap: fc.oneof(
        { weight: 6, arbitrary: fc.integer({ min: 0, max: 2 * emission }) },
        { weight: 1, arbitrary: fc.integer({ min: 0, max: 2 * windowMs }) },
        { weight: 2, arbitrary: fc.constant(0) },
      ),
      cost: fc.oneof(
        { weight: 6, arbitrary: fc.constant(1) },
        { weight: 2, arbitrary: fc.integer({ min: 0, max: rule.limit + 1 }) },
      ),
    }),
    { minLength: 1, maxLength },
  );
}

describe('gcra: a full bucket', () => {
  for (const rule of COMBOS) {
    test(`${label(rule)}: exactly limit at one instant, then the exact wait`, () => {
      const windowMs = rule.windowSeconds * 1000;
      const { admitted, tat } = burst(rule, null, EPOCH, rule.limit + 5);
      assert.equal(admitted, rule.limit);
      const next = gcra(tat, EPOCH, 1, rule);
      assert.equal(next.allowed, false);
      assert.equal(next.remaining, 0);
      assert.equal(next.resetMs, windowMs);
      // One emission interval, rounded up to a whole ms.
      const wait = Math.ceil(windowMs / rule.limit);
      assert.equal(next.retryAfterMs, wait);
      assert.equal(gcra(tat, EPOCH + wait - 1, 1, rule).allowed, false);
      assert.equal(gcra(tat, EPOCH + wait, 1, rule).allowed, true);
    });
  }

  test('remaining counts down to 0 and reset is the time to a full bucket', () => {
    const rule = { name: 'requests', limit: 100, windowSeconds: 60 };
    let tat: Tat | null = null;
    for (let i = 1; i <= 100; i++) {
      const result = gcra(tat, EPOCH, 1, rule);
      assert.equal(result.allowed, true);
      assert.equal(result.remaining, 100 - i);
      assert.equal(result.resetMs, i * 600);
      assert.equal(result.retryAfterMs, 0);
      tat = result.newTat;
    }
  });
});

describe('gcra: the steady rate limit / window is sustained forever, without drift', () => {
  for (const rule of COMBOS) {
    test(`${label(rule)}: requests at ceil(k·T) all pass, and the backlog never grows`, () => {
      const windowMs = rule.windowSeconds * 1000;
      const emission = windowMs / rule.limit;
      const steps = Math.max(10 * rule.limit, 50);
      let tat: Tat | null = null;
      for (let k = 0; k < steps; k++) {
        const at = EPOCH + Math.ceil((k * windowMs) / rule.limit);
        const result = gcra(tat, at, 1, rule);
        assert.equal(result.allowed, true, `request ${k}`);
        // tat − now < T + 1 ms: arrivals rounded up to whole ms cost at most that much.
        assert.ok(result.resetMs <= Math.ceil(emission) + 1, `request ${k}`);
        if (Number.isInteger(emission)) assert.equal(result.remaining, rule.limit - 1);
        else assert.ok(result.remaining >= rule.limit - 2, `request ${k}`);
        tat = result.newTat;
      }
    });
  }

  for (const rule of [
    { name: 'thirds', limit: 3, windowSeconds: 1 },
    { name: 'sevenths', limit: 7, windowSeconds: 60 },
  ]) {
    test(`${label(rule)}: 30,000 back-to-back periods stay exact`, () => {
      const windowMs = rule.windowSeconds * 1000;
      // Exhaust the bucket, then keep it exactly full: tat must land on whole windows.
      let { tat } = burst(rule, null, EPOCH, rule.limit);
      for (let k = 1; k <= 30_000; k++) {
        const at = EPOCH + Math.ceil((k * windowMs) / rule.limit);
        const result = gcra(tat, at, 1, rule);
        assert.equal(result.allowed, true);
        tat = result.newTat;
        if (k % rule.limit === 0) {
          assert.deepEqual(tat, { ms: EPOCH + windowMs * (k / rule.limit + 1), fraction: 0 });
        }
      }
    });
  }

  test('1,000,000 per 1 s: a million single requests at one instant, exactly', () => {
    const rule = { name: 'fast', limit: 1_000_000, windowSeconds: 1 };
    const { admitted, tat } = burst(rule, null, EPOCH, 1_000_001);
    assert.equal(admitted, 1_000_000);
    assert.deepEqual(tat, { ms: EPOCH + 1000, fraction: 0 });
    // T = 1 µs: after 1 ms, exactly 1000 more.
    assert.equal(gcra(tat, EPOCH, 1, rule).retryAfterMs, 1);
    assert.equal(gcra(tat, EPOCH + 1, 1000, rule).allowed, true);
    assert.equal(gcra(tat, EPOCH + 1, 1001, rule).allowed, false);
    assert.equal(gcra(tat, EPOCH + 1, 1001, rule).retryAfterMs, 1);
  });

  test('a rate just above the limit is eventually denied', () => {
    const rule = { name: 'requests', limit: 7, windowSeconds: 60 };
    let tat: Tat | null = null;
    let denied = 0;
    for (let k = 0; k < 100; k++) {
      const result = gcra(tat, EPOCH + Math.floor((k * 60_000) / 8), 1, rule);
      if (result.allowed) tat = result.newTat;
      else denied++;
    }
    assert.ok(denied > 0);
  });
});

describe('gcra: the fixed-window boundary trick does not pass 2×', () => {
  for (const rule of COMBOS) {
    test(`${label(rule)}: limit at a window's last ms + limit at the next's first`, () => {
      const windowMs = rule.windowSeconds * 1000;
      const first = burst(rule, null, EPOCH + windowMs - 1, rule.limit);
      assert.equal(first.admitted, rule.limit);
      const second = burst(rule, first.tat, EPOCH + windowMs, rule.limit);
      // A fixed window would admit `limit` again; GCRA admits what 1 ms earns.
      assert.equal(second.admitted, Math.floor(rule.limit / windowMs));
      assert.ok(first.admitted + second.admitted < 2 * rule.limit);
    });

    test(`${label(rule)}: after a full burst, g ms later exactly floor(g·limit/W) pass`, () => {
      const windowMs = rule.windowSeconds * 1000;
      const { tat } = burst(rule, null, EPOCH, rule.limit);
      const gaps = [1, 2, 17, Math.floor(windowMs / 3), windowMs / 2, windowMs - 1, windowMs];
      for (const gap of gaps) {
        const again = burst(rule, tat, EPOCH + gap, rule.limit + 1);
        const earned = Math.min(rule.limit, Math.floor((gap * rule.limit) / windowMs));
        assert.equal(again.admitted, earned, `gap ${gap} ms`);
      }
    });
  }
});

describe('gcra: exact agreement with the BigInt model, and the GCRA bound, on random streams', () => {
  for (const rule of COMBOS) {
    test(`${label(rule)}`, () => {
      const windowMs = rule.windowSeconds * 1000;
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 10 * windowMs }),
          streamArb(rule, 80),
          (offset, events) => {
            let now = EPOCH + offset;
            let tat: Tat | null = null;
            let model: bigint | null = null;
            const admitted: Array<{ at: number; cost: number }> = [];
            for (const { gap, cost } of events) {
              now += gap;
              const result = gcra(tat, now, cost, rule);
              const expected = oracle(model, now, cost, rule);
              assert.equal(result.allowed, expected.allowed);
              assert.equal(toUnits(result.newTat, rule), expected.tat);
              assert.equal(result.remaining, expected.remaining);
              assert.equal(result.resetMs, expected.resetMs);
              assert.equal(result.retryAfterMs, expected.retryAfterMs);
              assert.ok(result.newTat.fraction >= 0 && result.newTat.fraction < rule.limit);
              if (result.allowed) {
                tat = result.newTat;
                model = expected.tat;
                admitted.push({ at: now, cost });
              }
            }
            // The exact GCRA guarantee, for every run of admitted requests i..j:
            //   Σ cost · W ≤ limit · W + (t_j − t_i) · limit
            for (let i = 0; i < admitted.length; i++) {
              let sum = 0;
              for (let j = i; j < admitted.length; j++) {
                sum += admitted[j]!.cost;
                const span = admitted[j]!.at - admitted[i]!.at;
                assert.ok(
                  sum * windowMs <= rule.limit * windowMs + span * rule.limit,
                  `${sum} admitted within ${span} ms`,
                );
                // Hence any window [t, t + W) holds at most 2·limit − 1, and any instant `limit`.
                if (span < windowMs) assert.ok(sum <= 2 * rule.limit - 1);
                if (span === 0) assert.ok(sum <= rule.limit);
              }
            }
          },
        ),
        { numRuns: 60 },
      );
    });
  }

  for (const rule of [
    { name: 'thirds', limit: 3, windowSeconds: 1 },
    { name: 'sevenths', limit: 7, windowSeconds: 60 },
    { name: 'million', limit: 1_000_000, windowSeconds: 1 },
    // Products just below 2^53, where a float quotient rounds and its floor is one off.
    { name: 'near 2^53', limit: 100_000_000, windowSeconds: 86_400 },
    { name: 'huge', limit: 1_000_000_000, windowSeconds: 86_400 },
  ]) {
    test(`${label(rule)}: matches the model (large and awkward emission intervals)`, () => {
      fc.assert(
        fc.property(
          fc.array(
            fc.record({
              gap: fc.integer({ min: 0, max: rule.windowSeconds * 1000 }),
              cost: fc.oneof(
                fc.integer({ min: 0, max: 3 }),
                fc.integer({ min: 0, max: rule.limit + 1 }),
              ),
            }),
            { minLength: 1, maxLength: 60 },
          ),
          (events) => {
            let now = EPOCH;
            let tat: Tat | null = null;
            let model: bigint | null = null;
            for (const { gap, cost } of events) {
              now += gap;
              const result = gcra(tat, now, cost, rule);
              const expected = oracle(model, now, cost, rule);
              assert.equal(result.allowed, expected.allowed);
              assert.equal(result.remaining, expected.remaining);
              assert.equal(result.resetMs, expected.resetMs);
              assert.equal(result.retryAfterMs, expected.retryAfterMs);
              if (result.allowed) {
                tat = result.newTat;
                model = expected.tat;
                assert.equal(toUnits(tat, rule), model);
              }
            }
          },
        ),
        { numRuns: 200 },
      );
    });
  }
});

describe('gcra: what it is not', () => {
  test('not a sliding log: a burst then the steady rate puts 2·limit − 1 into one window', () => {
    // The tight case of the bound above, kept as a test so that nobody documents a
    // "≤ limit in every window of length W" guarantee that GCRA does not give.
    const rule = { name: 'requests', limit: 10, windowSeconds: 1 };
    let { admitted, tat } = burst(rule, null, EPOCH, 10);
    for (let k = 1; k < 10; k++) {
      const result = gcra(tat, EPOCH + k * 100, 1, rule);
      assert.equal(result.allowed, true);
      tat = result.newTat;
      admitted++;
    }
    assert.equal(admitted, 19); // all within [EPOCH, EPOCH + 1000)
    assert.equal(gcra(tat, EPOCH + 999, 1, rule).allowed, false);
  });
});

describe('gcra: edges', () => {
  const rule = { name: 'requests', limit: 10, windowSeconds: 1 };

  test('cost 0 never spends and passes even on an empty bucket', () => {
    const { tat } = burst(rule, null, EPOCH, 10);
    const check = gcra(tat, EPOCH, 0, rule);
    assert.equal(check.allowed, true);
    assert.deepEqual(check.newTat, tat);
    assert.equal(check.remaining, 0);
    assert.deepEqual(gcra(null, EPOCH, 0, rule).remaining, 10);
  });

  test('a cost above the limit never passes (retryAfter null); equal to it only when full', () => {
    const over = gcra(null, EPOCH, 11, rule);
    assert.equal(over.allowed, false);
    assert.equal(over.retryAfterMs, null);
    assert.equal(over.remaining, 10);
    assert.equal(gcra(null, EPOCH, 10, rule).allowed, true);
    const one = gcra(null, EPOCH, 1, rule);
    const full = gcra(one.newTat, EPOCH, 10, rule);
    assert.equal(full.allowed, false);
    assert.equal(full.retryAfterMs, 100);
  });

  test('a stale tat is the same as a fresh bucket', () => {
    const stale = { ms: EPOCH - 5_000, fraction: 3 };
    assert.deepEqual(gcra(stale, EPOCH, 4, rule), gcra(null, EPOCH, 4, rule));
  });

  test('a clock that steps back is survived: denied, never a negative remaining', () => {
    const { tat } = burst(rule, null, EPOCH, 10);
    const back = gcra(tat, EPOCH - 5_000, 0, rule);
    assert.equal(back.allowed, false);
    assert.equal(back.remaining, 0);
    assert.equal(back.retryAfterMs, 5_000);
  });

  test('invalid rules and costs are refused', () => {
    assert.equal(invalidRuleReason(rule), null);
    assert.match(invalidRuleReason({ ...rule, limit: 0 }) ?? '', /limit/);
    assert.match(invalidRuleReason({ ...rule, limit: 1.5 }) ?? '', /limit/);
    assert.match(invalidRuleReason({ ...rule, windowSeconds: 0.5 }) ?? '', /windowSeconds/);
    assert.match(invalidRuleReason({ ...rule, windowSeconds: -1 }) ?? '', /windowSeconds/);
    assert.match(invalidRuleReason({ ...rule, name: '' }) ?? '', /name/);
    assert.throws(() => gcra(null, EPOCH, 1, { ...rule, limit: 0 }), RangeError);
    assert.throws(() => gcra(null, EPOCH, -1, rule), RangeError);
    assert.throws(() => gcra(null, EPOCH, 0.5, rule), RangeError);
    assert.throws(() => gcra(null, EPOCH, Number.NaN, rule), RangeError);
  });
});
