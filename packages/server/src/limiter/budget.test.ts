import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  BudgetLoadError,
  budgetPeriodEnd,
  budgetPeriodStart,
  budgetStateKey,
  invalidBudgetReason,
  loadBudgetSpent,
} from './budget.ts';
import { BUDGET_PERIODS, type BudgetPeriod, type BudgetRule } from './types.ts';

const utc = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0, ms = 0) =>
  Date.UTC(y, mo - 1, d, h, mi, s, ms);
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const period = (p: BudgetPeriod, now: number) => [
  iso(budgetPeriodStart(p, now)),
  iso(budgetPeriodEnd(p, now)),
];

describe('budget periods (UTC, [start, end))', () => {
  test('hour: the last ms belongs to it, the first ms of the next hour does not', () => {
    assert.deepEqual(period('hour', utc(2027, 3, 14, 1, 59, 59, 999)), [
      '2027-03-14T01:00:00.000Z',
      '2027-03-14T02:00:00.000Z',
    ]);
    assert.deepEqual(period('hour', utc(2027, 3, 14, 2)), [
      '2027-03-14T02:00:00.000Z',
      '2027-03-14T03:00:00.000Z',
    ]);
  });

  test('day: midnight to midnight, across a year end', () => {
    assert.deepEqual(period('day', utc(2026, 12, 31, 23, 59, 59, 999)), [
      '2026-12-31T00:00:00.000Z',
      '2027-01-01T00:00:00.000Z',
    ]);
    assert.deepEqual(period('day', utc(2027, 1, 1)), [
      '2027-01-01T00:00:00.000Z',
      '2027-01-02T00:00:00.000Z',
    ]);
  });

  test('week: Monday 00:00 to the next Monday, across a year end', () => {
    // 2026-01-01 is a Thursday; its week started on Monday 2025-12-29.
    assert.deepEqual(period('week', utc(2026, 1, 1, 12)), [
      '2025-12-29T00:00:00.000Z',
      '2026-01-05T00:00:00.000Z',
    ]);
    // The last ms of Sunday, then the first ms of Monday.
    assert.deepEqual(period('week', utc(2026, 1, 4, 23, 59, 59, 999)), [
      '2025-12-29T00:00:00.000Z',
      '2026-01-05T00:00:00.000Z',
    ]);
    assert.deepEqual(period('week', utc(2026, 1, 5)), [
      '2026-01-05T00:00:00.000Z',
      '2026-01-12T00:00:00.000Z',
    ]);
    // Before the epoch (negative ms): 1969-12-31 was a Wednesday.
    assert.deepEqual(period('week', utc(1969, 12, 31, 5)), [
      '1969-12-29T00:00:00.000Z',
      '1970-01-05T00:00:00.000Z',
    ]);
  });

  test('month: 28, 29, 30 and 31 days, leap years included', () => {
    const cases: Array<[number, string, string]> = [
      [utc(2027, 1, 31, 23, 59, 59, 999), '2027-01-01', '2027-02-01'],
      [utc(2027, 2, 1), '2027-02-01', '2027-03-01'],
      [utc(2027, 2, 28, 23, 59, 59, 999), '2027-02-01', '2027-03-01'],
      [utc(2028, 2, 29, 23, 59, 59, 999), '2028-02-01', '2028-03-01'], // leap
      [utc(2028, 3, 1), '2028-03-01', '2028-04-01'],
      [utc(2100, 2, 28, 12), '2100-02-01', '2100-03-01'], // not leap (century)
      [utc(2000, 2, 29, 12), '2000-02-01', '2000-03-01'], // leap (400)
      [utc(2027, 4, 30, 23, 59, 59, 999), '2027-04-01', '2027-05-01'],
      [utc(2027, 12, 31, 23, 59, 59, 999), '2027-12-01', '2028-01-01'],
      [utc(2028, 1, 1), '2028-01-01', '2028-02-01'],
    ];
    for (const [now, start, end] of cases) {
      assert.deepEqual(
        period('month', now),
        [`${start}T00:00:00.000Z`, `${end}T00:00:00.000Z`],
        iso(now) ?? '',
      );
    }
    // The leap day's month is 29 days long.
    const feb = utc(2028, 2, 10);
    assert.equal(budgetPeriodEnd('month', feb)! - budgetPeriodStart('month', feb), 29 * 86_400_000);
  });

  test('total: starts at the epoch, never ends', () => {
    assert.deepEqual(
      [budgetPeriodStart('total', utc(2027, 6, 1)), budgetPeriodEnd('total', utc(2027, 6, 1))],
      [0, null],
    );
  });

  test('property: start ≤ now < end, periods tile time, and each starts where it should', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<BudgetPeriod>('hour', 'day', 'week', 'month'),
        fc.integer({ min: -2e12, max: 8e12 }),
        (p, now) => {
          const start = budgetPeriodStart(p, now);
          const end = budgetPeriodEnd(p, now)!;
          assert.ok(start <= now && now < end);
          assert.equal(budgetPeriodStart(p, start), start);
          assert.equal(budgetPeriodStart(p, end - 1), start);
          assert.equal(budgetPeriodStart(p, end), end);
          const date = new Date(start);
          assert.equal(date.getUTCMinutes() + date.getUTCSeconds() + date.getUTCMilliseconds(), 0);
          if (p !== 'hour') assert.equal(date.getUTCHours(), 0);
          if (p === 'week') assert.equal(date.getUTCDay(), 1);
          if (p === 'month') assert.equal(date.getUTCDate(), 1);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('budget rules and states', () => {
  const rule: BudgetRule = { name: 'monthly', amountMicros: 5_000_000, period: 'month' };

  test('validation', () => {
    assert.equal(invalidBudgetReason(rule), null);
    for (const p of BUDGET_PERIODS) assert.equal(invalidBudgetReason({ ...rule, period: p }), null);
    assert.match(invalidBudgetReason({ ...rule, name: '' }) ?? '', /name/);
    assert.match(invalidBudgetReason({ ...rule, amountMicros: 0 }) ?? '', /amountMicros/);
    assert.match(invalidBudgetReason({ ...rule, amountMicros: 1.5 }) ?? '', /amountMicros/);
    assert.match(invalidBudgetReason({ ...rule, amountMicros: 2 ** 53 }) ?? '', /amountMicros/);
    const yearly = { ...rule, period: 'year' as BudgetPeriod };
    assert.match(invalidBudgetReason(yearly) ?? '', /period/);
  });

  test('the state key names subject, name, period and start — not the amount', () => {
    const start = budgetPeriodStart('month', utc(2027, 6, 15));
    assert.equal(
      budgetStateKey('key:k', rule, start),
      budgetStateKey('key:k', { ...rule, amountMicros: 9 }, start),
    );
    assert.notEqual(
      budgetStateKey('key:k', rule, start),
      budgetStateKey('key:k', { ...rule, period: 'week' }, start),
    );
    assert.notEqual(budgetStateKey('key:k', rule, start), budgetStateKey('key:k', rule, 0));
  });

  test('loadSpent: failures and bad answers become BudgetLoadError', async () => {
    assert.equal(await loadBudgetSpent(async () => 42, 'key:k', rule, 0), 42);
    for (const bad of [-1, 1.5, Number.NaN, '3', null, 2 ** 53]) {
      await assert.rejects(
        loadBudgetSpent(async () => bad as number, 'key:k', rule, 0),
        BudgetLoadError,
      );
    }
    const failure = new Error('store down');
    await assert.rejects(
      loadBudgetSpent(
        async () => {
          throw failure;
        },
        'key:k',
        rule,
        0,
      ),
      (error: unknown) => error instanceof BudgetLoadError && error.cause === failure,
    );
  });
});
