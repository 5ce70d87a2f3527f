import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { budgetStateKey } from './budget.ts';
import { limitStateKey } from './decide.ts';
import { adjustTat, gcra, MAX_TAT_AHEAD_MS, type Tat } from './gcra.ts';
import {
  decideReserve,
  decideSettle,
  type ReserveInput,
  type SettleInput,
} from './reserve-decide.ts';
import type { BudgetRule, RateLimitRule, Reservation } from './types.ts';

const utc = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0, ms = 0) =>
  Date.UTC(y, mo - 1, d, h, mi, s, ms);
const NOW = utc(2027, 6, 15, 12);
const KEY = 'key:k1';
const OWNER = 'owner:acme';
const tpm: RateLimitRule = { name: 'tpm', limit: 10_000, windowSeconds: 60, unit: 'tokens' };
const monthly: BudgetRule = { name: 'monthly', amountMicros: 1_000_000, period: 'month' };
const daily: BudgetRule = { name: 'daily', amountMicros: 300_000, period: 'day' };
const lifetime: BudgetRule = { name: 'lifetime', amountMicros: 5_000_000, period: 'total' };

/** The tat after `tokens` on a full bucket at NOW. */
const usedTokens = (rule: RateLimitRule, tokens: number): Tat =>
  gcra(null, NOW, tokens, rule).newTat;

function reserve(
  input: Partial<ReserveInput> & Pick<ReserveInput, 'tokens' | 'costMicros'>,
  now = NOW,
) {
  return decideReserve({ tokenLimits: [], budgets: [], ...input }, now);
}

const budget = (rule: BudgetRule, spent: number, subject = KEY) => ({ subject, rule, spent });

describe('decideReserve: budgets at their boundaries', () => {
  test('nothing to limit: allowed, with a reservation that holds nothing', () => {
    const outcome = reserve({ tokens: 500, costMicros: 1200 });
    assert.deepEqual(outcome.decision, {
      allowed: true,
      code: 'VALID',
      tokenLimits: [],
      budgets: [],
      retryAfterSeconds: null,
      reservation: { tokenLimits: [], tokens: 500, budgets: [], costMicros: 1200 },
    });
    assert.equal(outcome.tats.size + outcome.spent.size, 0);
  });

  test('exactly the amount passes; one micro over does not, and spends nothing', () => {
    const exact = reserve({ tokens: 0, costMicros: 400_000, budgets: [budget(monthly, 600_000)] });
    assert.equal(exact.decision.code, 'VALID');
    assert.deepEqual(exact.decision.budgets, [
      {
        subject: KEY,
        name: 'monthly',
        amountMicros: 1_000_000,
        period: 'month',
        spentMicros: 1_000_000,
        remainingMicros: 0,
        resetSeconds: (utc(2027, 7, 1) - NOW) / 1000,
      },
    ]);
    const start = utc(2027, 6, 1);
    assert.deepEqual([...exact.spent], [[budgetStateKey(KEY, monthly, start), 1_000_000]]);
    assert.deepEqual(exact.decision.reservation?.budgets, [
      { subject: KEY, rule: monthly, periodStartMs: start },
    ]);

    const over = reserve({ tokens: 0, costMicros: 400_001, budgets: [budget(monthly, 600_000)] });
    assert.equal(over.decision.allowed, false);
    assert.equal(over.decision.code, 'BUDGET_EXCEEDED');
    assert.equal(over.decision.reservation, null);
    assert.equal(over.decision.budgets[0]?.spentMicros, 600_000);
    assert.equal(over.decision.budgets[0]?.remainingMicros, 400_000);
    assert.equal(over.decision.retryAfterSeconds, (utc(2027, 7, 1) - NOW) / 1000);
    assert.equal(over.spent.size, 0);
  });

  test('cost 0 passes a budget spent to the micro, not one in debt', () => {
    const full = reserve({ tokens: 0, costMicros: 0, budgets: [budget(monthly, 1_000_000)] });
    assert.equal(full.decision.code, 'VALID');
    const debt = reserve({ tokens: 0, costMicros: 0, budgets: [budget(monthly, 1_000_001)] });
    assert.equal(debt.decision.code, 'BUDGET_EXCEEDED');
    assert.equal(debt.decision.budgets[0]?.remainingMicros, 0);
  });

  test('an estimate larger than the whole budget, or a total budget: retryAfter null', () => {
    const huge = reserve({ tokens: 0, costMicros: 1_000_001, budgets: [budget(monthly, 0)] });
    assert.deepEqual(
      [huge.decision.code, huge.decision.retryAfterSeconds],
      ['BUDGET_EXCEEDED', null],
    );
    const total = reserve({ tokens: 0, costMicros: 2, budgets: [budget(lifetime, 4_999_999)] });
    assert.deepEqual(
      [total.decision.code, total.decision.retryAfterSeconds],
      ['BUDGET_EXCEEDED', null],
    );
    assert.equal(total.decision.budgets[0]?.resetSeconds, null);
    const fits = reserve({ tokens: 0, costMicros: 1, budgets: [budget(lifetime, 4_999_999)] });
    assert.equal(fits.decision.code, 'VALID');
    assert.deepEqual(fits.decision.reservation?.budgets[0]?.periodStartMs, 0);
  });

  test('period edges: the last ms of a month waits 1 s; the first ms of the next is a new state', () => {
    const last = utc(2027, 6, 30, 23, 59, 59, 999);
    const denied = reserve(
      { tokens: 0, costMicros: 1, budgets: [budget(monthly, 1_000_000)] },
      last,
    );
    assert.equal(denied.decision.retryAfterSeconds, 1);
    assert.equal(denied.decision.budgets[0]?.resetSeconds, 1);
    // The backend reads the state of the period containing now: the new month's (0 spent).
    const first = utc(2027, 7, 1);
    const next = reserve({ tokens: 0, costMicros: 1, budgets: [budget(monthly, 0)] }, first);
    assert.equal(next.decision.code, 'VALID');
    assert.deepEqual([...next.spent.keys()], [budgetStateKey(KEY, monthly, first)]);
    assert.equal(next.decision.budgets[0]?.resetSeconds, 31 * 86_400);
  });

  test('period edges: week, day and hour; February of a leap year', () => {
    const cases: Array<[BudgetRule['period'], number, number]> = [
      ['week', utc(2027, 6, 13, 23, 59, 59, 999), 1], // Sunday's last ms
      ['week', utc(2027, 6, 14), 7 * 86_400], // Monday's first ms
      ['day', utc(2027, 6, 14, 23, 59, 59, 999), 1],
      ['day', utc(2027, 6, 15), 86_400],
      ['hour', utc(2027, 6, 15, 12, 59, 59, 999), 1],
      ['hour', utc(2027, 6, 15, 13), 3600],
      ['hour', utc(2027, 6, 15, 13, 0, 0, 1), 3600], // 3599.999 s rounds up
      ['month', utc(2028, 2, 28, 12), 36 * 3600], // 29 February 2028 still to come
      ['month', utc(2027, 2, 28, 12), 12 * 3600],
    ];
    for (const [period, now, wait] of cases) {
      const rule = { name: 'b', amountMicros: 10, period };
      const outcome = reserve({ tokens: 0, costMicros: 11 - 5, budgets: [budget(rule, 5)] }, now);
      assert.deepEqual(
        [outcome.decision.code, outcome.decision.retryAfterSeconds],
        ['BUDGET_EXCEEDED', wait],
        `${period} at ${new Date(now).toISOString()}`,
      );
    }
  });

  test('several budgets: all or nothing, the longest wait, never if one can never pass', () => {
    const both = [budget(daily, 0), budget(monthly, 900_000, OWNER)];
    const denied = reserve({ tokens: 0, costMicros: 200_000, budgets: both });
    assert.equal(denied.decision.code, 'BUDGET_EXCEEDED');
    assert.equal(denied.spent.size, 0, 'the daily budget that allowed spends nothing either');
    assert.equal(denied.decision.budgets[0]?.spentMicros, 0);
    assert.equal(denied.decision.retryAfterSeconds, (utc(2027, 7, 1) - NOW) / 1000);
    const twoWaits = reserve({
      tokens: 0,
      costMicros: 200_000,
      budgets: [budget(daily, 200_000), budget(monthly, 900_000, OWNER)],
    });
    assert.equal(twoWaits.decision.retryAfterSeconds, (utc(2027, 7, 1) - NOW) / 1000);
    const never = reserve({
      tokens: 0,
      costMicros: 200_000,
      budgets: [budget(daily, 200_000), budget({ ...lifetime, amountMicros: 100 }, 0)],
    });
    assert.equal(never.decision.retryAfterSeconds, null);
  });

  test('the same budget state listed twice is charged twice', () => {
    const twice = [budget(daily, 100_000), budget(daily, 100_000)];
    const fits = reserve({ tokens: 0, costMicros: 100_000, budgets: twice });
    assert.equal(fits.decision.code, 'VALID');
    assert.deepEqual(
      fits.decision.budgets.map((b) => b.spentMicros),
      [200_000, 300_000],
    );
    assert.equal(fits.spent.get(budgetStateKey(KEY, daily, utc(2027, 6, 15))), 300_000);
    const over = reserve({ tokens: 0, costMicros: 100_001, budgets: twice });
    assert.equal(over.decision.code, 'BUDGET_EXCEEDED');
  });

  test('a budget amount changed mid-period keeps what was spent (same state key)', () => {
    const raised = { ...monthly, amountMicros: 2_000_000 };
    const outcome = reserve({
      tokens: 0,
      costMicros: 500_000,
      budgets: [budget(raised, 1_000_000)],
    });
    assert.equal(outcome.decision.code, 'VALID');
    assert.deepEqual([...outcome.spent.keys()], [budgetStateKey(KEY, monthly, utc(2027, 6, 1))]);
  });
});

describe('decideReserve: token limits, and all or nothing with budgets', () => {
  test('allowed: the tat moves by tokens · T; results like consume’s', () => {
    const outcome = reserve({
      tokenLimits: [{ subject: KEY, rule: tpm, tat: null }],
      tokens: 2500,
      costMicros: 10,
      budgets: [budget(daily, 0)],
    });
    assert.equal(outcome.decision.code, 'VALID');
    assert.deepEqual(outcome.decision.tokenLimits, [
      {
        subject: KEY,
        name: 'tpm',
        limit: 10_000,
        windowSeconds: 60,
        remaining: 7500,
        resetSeconds: 15,
      },
    ]);
    assert.deepEqual(outcome.tats.get(limitStateKey(KEY, tpm)), { ms: NOW + 15_000, fraction: 0 });
    assert.deepEqual(outcome.decision.reservation?.tokenLimits, [{ subject: KEY, rule: tpm }]);
  });

  test('tokens larger than a whole limit: RATE_LIMITED, retryAfter null', () => {
    const outcome = reserve({
      tokenLimits: [{ subject: KEY, rule: tpm, tat: null }],
      tokens: 10_001,
      costMicros: 0,
    });
    assert.deepEqual(
      [outcome.decision.code, outcome.decision.retryAfterSeconds],
      ['RATE_LIMITED', null],
    );
  });

  test('a token limit denies: RATE_LIMITED, budgets not charged, its wait only', () => {
    const outcome = reserve({
      tokenLimits: [{ subject: KEY, rule: tpm, tat: usedTokens(tpm, 9000) }],
      tokens: 2000,
      costMicros: 999_999_999, // would exceed the budget too: the token limit is reported
      budgets: [budget(daily, 0)],
    });
    assert.equal(outcome.decision.code, 'RATE_LIMITED');
    assert.equal(outcome.decision.retryAfterSeconds, 6); // 1000 tokens · 6 ms
    assert.equal(outcome.decision.tokenLimits[0]?.remaining, 1000);
    assert.equal(outcome.decision.budgets[0]?.spentMicros, 0);
    assert.equal(outcome.tats.size + outcome.spent.size, 0);
  });

  test('a budget denies: BUDGET_EXCEEDED, and no token limit moves', () => {
    const owner = { ...tpm, limit: 100_000 };
    const outcome = reserve({
      tokenLimits: [
        { subject: KEY, rule: tpm, tat: usedTokens(tpm, 1000) },
        { subject: OWNER, rule: owner, tat: null },
      ],
      tokens: 500,
      costMicros: 300_001,
      budgets: [budget(daily, 0)],
    });
    assert.equal(outcome.decision.code, 'BUDGET_EXCEEDED');
    assert.deepEqual(
      outcome.decision.tokenLimits.map((limit) => limit.remaining),
      [9000, 100_000],
    );
    assert.equal(outcome.tats.size, 0);
  });

  test('a debt (a tat past the window) denies even 0 tokens, with the wait for the debt', () => {
    const debt = adjustTat(null, NOW, 15_000, tpm)!; // 1.5 windows ahead
    const outcome = reserve({
      tokenLimits: [{ subject: KEY, rule: tpm, tat: debt }],
      tokens: 0,
      costMicros: 0,
    });
    assert.equal(outcome.decision.code, 'RATE_LIMITED');
    assert.equal(outcome.decision.retryAfterSeconds, 30);
    assert.equal(outcome.decision.tokenLimits[0]?.remaining, 0);
    assert.equal(outcome.decision.tokenLimits[0]?.resetSeconds, 90);
  });

  test('invalid requests are refused', () => {
    const bad: Array<Partial<ReserveInput>> = [
      { tokens: -1 },
      { tokens: 1.5 },
      { costMicros: -1 },
      { costMicros: 2 ** 53 },
      { budgets: [budget({ ...daily, amountMicros: 0 }, 0)] },
      { budgets: [budget({ ...daily, period: 'year' as BudgetRule['period'] }, 0)] },
      { budgets: [budget(daily, -5)] },
      { budgets: [budget(daily, 0, '')] },
      { tokenLimits: [{ subject: KEY, rule: { ...tpm, limit: 0 }, tat: null }] },
    ];
    for (const input of bad) {
      assert.throws(() => reserve({ tokens: 1, costMicros: 1, ...input }), RangeError);
    }
  });
});

describe('decideSettle', () => {
  const reservationFor = (input: ReserveInput, now = NOW): Reservation => {
    const reservation = decideReserve(input, now).decision.reservation;
    assert.ok(reservation);
    return reservation;
  };
  const settleInput = (
    reservation: Reservation,
    tats: Map<string, Tat>,
    spent: Map<string, number>,
    actual: { tokens: number; costMicros: number },
  ): SettleInput => ({
    tokenLimits: reservation.tokenLimits.map(({ subject, rule }) => ({
      subject,
      rule,
      tat: tats.get(limitStateKey(subject, rule)) ?? null,
    })),
    budgets: reservation.budgets.map(({ subject, rule, periodStartMs }) => ({
      subject,
      rule,
      periodStartMs,
      spent: spent.get(budgetStateKey(subject, rule, periodStartMs)) ?? null,
    })),
    reserved: { tokens: reservation.tokens, costMicros: reservation.costMicros },
    actual,
  });

  test('fewer tokens and micros than reserved: given back, as if reserved for the actual', () => {
    const input: ReserveInput = {
      tokenLimits: [{ subject: KEY, rule: tpm, tat: usedTokens(tpm, 1000) }],
      tokens: 4000,
      budgets: [budget(daily, 50_000)],
      costMicros: 100_000,
    };
    const reserved = decideReserve(input, NOW);
    const settled = decideSettle(
      settleInput(reserved.decision.reservation!, reserved.tats, reserved.spent, {
        tokens: 1500,
        costMicros: 30_000,
      }),
      NOW,
    );
    const direct = decideReserve({ ...input, tokens: 1500, costMicros: 30_000 }, NOW);
    assert.deepEqual(settled.tats, direct.tats);
    assert.deepEqual(settled.spent, direct.spent);
  });

  test('more than reserved: charged past the limit (a debt) and past the budget', () => {
    const reservation = reservationFor({
      tokenLimits: [{ subject: KEY, rule: tpm, tat: null }],
      tokens: 1000,
      budgets: [budget(daily, 250_000)],
      costMicros: 50_000,
    });
    const settled = decideSettle(
      settleInput(
        reservation,
        new Map([[limitStateKey(KEY, tpm), { ms: NOW + 6000, fraction: 0 }]]),
        new Map([[budgetStateKey(KEY, daily, utc(2027, 6, 15)), 300_000]]),
        { tokens: 25_000, costMicros: 120_000 },
      ),
      NOW,
    );
    // 25,000 tokens of a 10,000/min limit: the bucket is 2.5 windows behind.
    assert.deepEqual(settled.tats.get(limitStateKey(KEY, tpm)), { ms: NOW + 150_000, fraction: 0 });
    assert.deepEqual([...settled.spent.values()], [370_000]);
    const next = reserve({
      tokenLimits: [{ subject: KEY, rule: tpm, tat: settled.tats.get(limitStateKey(KEY, tpm))! }],
      tokens: 1,
      costMicros: 0,
    });
    assert.deepEqual([next.decision.code, next.decision.retryAfterSeconds], ['RATE_LIMITED', 91]);
  });

  test('a bucket is never fuller than full; spent never below 0', () => {
    const reservation = reservationFor({
      tokenLimits: [{ subject: KEY, rule: tpm, tat: null }],
      tokens: 5000,
      budgets: [budget(daily, 0)],
      costMicros: 100_000,
    });
    // Half a minute later the 5,000 reserved tokens have drained; the state was reloaded at 20.
    const later = NOW + 30_000;
    const settled = decideSettle(
      settleInput(
        reservation,
        new Map([[limitStateKey(KEY, tpm), { ms: NOW + 30_000, fraction: 0 }]]),
        new Map([[budgetStateKey(KEY, daily, utc(2027, 6, 15)), 20]]),
        { tokens: 0, costMicros: 0 },
      ),
      later,
    );
    assert.equal(settled.tats.get(limitStateKey(KEY, tpm)), null, 'null: full, delete the state');
    assert.deepEqual([...settled.spent.values()], [0]);
  });

  test('a budget state not held is left alone; a rolled-over period is settled in its own', () => {
    const reservation = reservationFor(
      { tokenLimits: [], tokens: 0, budgets: [budget(daily, 0)], costMicros: 100 },
      utc(2027, 6, 15, 23, 59, 59, 999),
    );
    assert.equal(reservation.budgets[0]?.periodStartMs, utc(2027, 6, 15));
    const next = utc(2027, 6, 16);
    const held = new Map([
      [budgetStateKey(KEY, daily, utc(2027, 6, 15)), 100],
      [budgetStateKey(KEY, daily, next), 7],
    ]);
    const settled = decideSettle(
      settleInput(reservation, new Map(), held, { tokens: 0, costMicros: 40 }),
      next,
    );
    assert.deepEqual([...settled.spent], [[budgetStateKey(KEY, daily, utc(2027, 6, 15)), 40]]);
    const forgotten = decideSettle(
      settleInput(reservation, new Map(), new Map(), { tokens: 0, costMicros: 40 }),
      next,
    );
    assert.equal(forgotten.spent.size, 0);
  });

  test('a state listed twice was charged twice: adjusted twice', () => {
    const twice = [
      { subject: KEY, rule: tpm, tat: null },
      { subject: KEY, rule: tpm, tat: null },
    ];
    const input: ReserveInput = { tokenLimits: twice, tokens: 1000, budgets: [], costMicros: 0 };
    const reserved = decideReserve(input, NOW);
    assert.deepEqual(reserved.tats.get(limitStateKey(KEY, tpm)), { ms: NOW + 12_000, fraction: 0 });
    const settled = decideSettle(
      settleInput(reserved.decision.reservation!, reserved.tats, new Map(), {
        tokens: 400,
        costMicros: 0,
      }),
      NOW,
    );
    assert.deepEqual(settled.tats.get(limitStateKey(KEY, tpm)), { ms: NOW + 4800, fraction: 0 });
  });

  test('invalid actual figures are refused', () => {
    const reservation = reservationFor({ tokenLimits: [], tokens: 0, budgets: [], costMicros: 0 });
    for (const actual of [
      { tokens: -1, costMicros: 0 },
      { tokens: 0, costMicros: 0.5 },
    ]) {
      assert.throws(
        () => decideSettle(settleInput(reservation, new Map(), new Map(), actual), NOW),
        RangeError,
      );
    }
  });
});

describe('adjustTat, exactly', () => {
  /** The same move in BigInt units of 1/limit ms (no fractions, no carries). */
  function oracle(tat: Tat | null, now: number, delta: number, rule: RateLimitRule): bigint | null {
    const L = BigInt(rule.limit);
    const W = BigInt(rule.windowSeconds * 1000);
    const nowU = BigInt(now) * L;
    const held = tat !== null && BigInt(tat.ms) * L + BigInt(tat.fraction) > nowU;
    const tatU = held && tat ? BigInt(tat.ms) * L + BigInt(tat.fraction) : null;
    if (delta === 0) return tatU;
    if (delta > 0) {
      const next = (tatU ?? nowU) + BigInt(delta) * W;
      const cap = nowU + BigInt(MAX_TAT_AHEAD_MS) * L;
      // The cap applies on whole ms: a result within one ms of it may keep its fraction.
      return next - nowU >= BigInt(MAX_TAT_AHEAD_MS) * L + L ? cap : next;
    }
    if (tatU === null) return null;
    const next = tatU - BigInt(-delta) * W;
    return next > nowU ? next : null;
  }

  test('property: the same as the BigInt model, limits and windows of every size', () => {
    fc.assert(
      fc.property(
        fc.record({
          limit: fc.oneof(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 1e13 })),
          windowSeconds: fc.oneof(
            fc.integer({ min: 1, max: 3600 }),
            fc.integer({ min: 1, max: 1e9 }),
          ),
        }),
        fc.integer({ min: 1e12, max: 4e12 }),
        fc.option(fc.record({ aheadMs: fc.integer({ min: -1e6, max: 1e10 }), fraction: fc.nat() })),
        fc.oneof(fc.integer({ min: -20, max: 20 }), fc.integer({ min: -1e15, max: 1e15 })),
        (shape, now, tat, delta) => {
          const rule = { name: 't', ...shape };
          const held = tat && { ms: now + tat.aheadMs, fraction: tat.fraction % rule.limit };
          const actual = adjustTat(held, now, delta, rule);
          const expected = oracle(held, now, delta, rule);
          if (expected === null) {
            assert.equal(actual, null);
            return;
          }
          assert.ok(actual !== null);
          const units = BigInt(actual.ms) * BigInt(rule.limit) + BigInt(actual.fraction);
          const capped = BigInt(now + MAX_TAT_AHEAD_MS) * BigInt(rule.limit);
          if (expected === capped || units === capped) {
            // At the cap, both agree the tat is (about) a century ahead.
            assert.ok(
              units >= capped - BigInt(rule.limit) && expected >= capped - BigInt(rule.limit),
            );
          } else {
            assert.equal(units, expected);
          }
          assert.ok(actual.fraction >= 0 && actual.fraction < rule.limit);
        },
      ),
      { numRuns: 3000 },
    );
  });

  test('a reserve then a settle at the same instant equals reserving the actual figure', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 3600 }),
        fc.option(fc.integer({ min: -5000, max: 600_000 })),
        fc.nat(2000),
        fc.nat(5000),
        (limit, windowSeconds, ahead, estimate, actual) => {
          const rule = { name: 't', limit, windowSeconds };
          const tat = ahead === null ? null : { ms: NOW + ahead, fraction: 0 };
          const reserved = gcra(tat, NOW, estimate, rule);
          fc.pre(reserved.allowed);
          const settled = adjustTat(reserved.newTat, NOW, actual - estimate, rule);
          const direct = adjustTat(tat, NOW, actual, rule);
          assert.deepEqual(settled, direct);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
