import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { type Clock, manualClock } from '../clock/index.ts';
import { redisNamespace } from '../testing/redis.ts';
import { budgetPeriodEnd, budgetPeriodStart, budgetStateKey } from './budget.ts';
import { limitStateKey } from './decide.ts';
import type { Tat } from './gcra.ts';
import { RedisRateLimiter, type RedisRateLimiterOptions, redisReserveTagOf } from './redis.ts';
import { decideReserve, decideSettle } from './reserve-decide.ts';
import type { BudgetRule, RateLimitRule, ReserveDecision, ReserveRequest } from './types.ts';

// Reserve → settle on the real Redis (the contract cases run in redis.test.ts's suite).
const ns = await redisNamespace('budget');
after(() => ns.cleanup());

const open = (options: RedisRateLimiterOptions = {}) =>
  RedisRateLimiter.connect({ url: ns.url, prefix: ns.prefix, ...options });
const unique = () => randomUUID().slice(0, 8);
const HOUR_MS = 3_600_000;
const allowed = (decisions: ReserveDecision[]) => decisions.filter((d) => d.allowed).length;

/** A `loadSpent` answering `spent` after `delayMs`, counting its calls. */
function store(spent: number, delayMs = 10) {
  const calls: number[] = [];
  const loadSpent: ReserveRequest['loadSpent'] = async (_subject, _rule, periodStartMs) => {
    calls.push(periodStartMs);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    return spent;
  };
  return { calls, loadSpent };
}

describe('redis: the reserve and settle scripts decide exactly as decideReserve / decideSettle', () => {
  const tokenRules: RateLimitRule[] = [
    { name: 'tpm', limit: 10_000, windowSeconds: 60, unit: 'tokens' },
    { name: 'tpd', limit: 7, windowSeconds: 86_400, unit: 'tokens' },
    { name: 'huge|{x}', limit: 9e12, windowSeconds: 1e9, unit: 'tokens' },
  ];
  const budgetRules: BudgetRule[] = [
    { name: 'hourly', amountMicros: 5000, period: 'hour' },
    { name: 'daily', amountMicros: 1, period: 'day' },
    { name: 'weekly', amountMicros: 2e15, period: 'week' },
    { name: 'monthly', amountMicros: 40_000, period: 'month' },
    { name: 'life|{t}', amountMicros: 12_345, period: 'total' },
  ];
  const arbCase = fc.record({
    now: fc.oneof(
      fc.integer({ min: 1e12, max: 4e12 }),
      // The last and first ms of some period.
      fc.constantFrom(
        Date.UTC(2028, 1, 29, 23, 59, 59, 999),
        Date.UTC(2028, 2, 1),
        Date.UTC(2027, 11, 31, 23, 59, 59, 999),
        Date.UTC(2027, 5, 14),
      ),
    ),
    tokenLimits: fc.array(
      fc.record({
        who: fc.constantFrom('key:A', 'owner:O'),
        rule: fc.nat(tokenRules.length - 1),
        tat: fc.option(
          fc.record({ windows: fc.double({ min: -1, max: 3, noNaN: true }), fraction: fc.nat() }),
        ),
      }),
      { maxLength: 3 },
    ),
    budgets: fc.array(
      fc.record({
        who: fc.constantFrom('key:A', 'owner:O'),
        rule: fc.nat(budgetRules.length - 1),
        // Mostly room left, so that many cases are allowed and go on to settle.
        spent: fc.oneof(
          { weight: 3, arbitrary: fc.integer({ min: 0, max: 3000 }) },
          fc.integer({ min: 0, max: 50_000 }),
          fc.integer({ min: 0, max: 3e15 }),
        ),
      }),
      { maxLength: 3 },
    ),
    tokens: fc.oneof(
      fc.constant(0),
      { weight: 3, arbitrary: fc.integer({ min: 1, max: 5 }) },
      fc.integer({ min: 1, max: 3000 }),
      fc.integer({ min: 0, max: 2e13 }),
    ),
    costMicros: fc.oneof(
      fc.constant(0),
      { weight: 3, arbitrary: fc.integer({ min: 1, max: 1000 }) },
      fc.integer({ min: 1, max: 6000 }),
      fc.integer({ min: 0, max: 3e15 }),
    ),
    settle: fc.record({
      afterMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2 * HOUR_MS })),
      tokens: fc.oneof(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 0, max: 1e15 })),
      costMicros: fc.oneof(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: 4e15 })),
    }),
  });

  test('property: same states, same now → same decision, same writes; then the same settle', async () => {
    const clock = manualClock();
    const limiter = await open({ clockOverride: clock, budgetMarginMs: HOUR_MS });
    const read = async (key: string) => ns.client.get(key);
    try {
      await fc.assert(
        fc.asyncProperty(arbCase, async (c) => {
          const run = unique();
          const subject = (who: string) => `${who}-${run}`;
          const tokenLimits = c.tokenLimits.map(({ who, rule }) => ({
            subject: subject(who),
            rule: tokenRules[rule]!,
          }));
          const budgets = c.budgets.map(({ who, rule }) => ({
            subject: subject(who),
            rule: budgetRules[rule]!,
          }));
          const request = {
            tokenLimits,
            tokens: c.tokens,
            budgets,
            costMicros: c.costMicros,
            loadSpent: async () => {
              throw new Error('every state is seeded');
            },
          } satisfies ReserveRequest;
          const tag = redisReserveTagOf(request);

          // Seed: the first mention of a state decides its value.
          const tats = new Map<string, Tat | null>();
          const spent = new Map<string, number>();
          const writes: Array<Promise<unknown>> = [];
          c.tokenLimits.forEach(({ tat }, i) => {
            const { subject: who, rule } = tokenLimits[i]!;
            const key = limitStateKey(who, rule);
            if (tats.has(key)) return;
            const value = tat && {
              ms: c.now + Math.round(tat.windows * rule.windowSeconds * 1000),
              fraction: tat.fraction % rule.limit,
            };
            tats.set(key, value);
            if (value && tag)
              writes.push(
                ns.client.set(limiter.keys.limit(tag, who, rule), `${value.ms}:${value.fraction}`),
              );
          });
          c.budgets.forEach(({ spent: held }, i) => {
            const { subject: who, rule } = budgets[i]!;
            const start = budgetPeriodStart(rule.period, c.now);
            const key = budgetStateKey(who, rule, start);
            if (spent.has(key)) return;
            spent.set(key, held);
            if (tag)
              writes.push(ns.client.set(limiter.keys.budget(tag, who, rule, start), String(held)));
          });
          await Promise.all(writes);

          const expected = decideReserve(
            {
              tokenLimits: tokenLimits.map(({ subject: who, rule }) => ({
                subject: who,
                rule,
                tat: tats.get(limitStateKey(who, rule)) ?? null,
              })),
              tokens: c.tokens,
              budgets: budgets.map(({ subject: who, rule }) => ({
                subject: who,
                rule,
                spent: spent.get(budgetStateKey(who, rule, budgetPeriodStart(rule.period, c.now)))!,
              })),
              costMicros: c.costMicros,
            },
            c.now,
          );
          clock.set(c.now);
          const actual = await limiter.reserve(request);
          const reservation = expected.decision.reservation && {
            ...expected.decision.reservation,
            ...(tag === null ? {} : { tag }),
          };
          assert.deepEqual(actual, { ...expected.decision, reservation });
          if (tag === null || !actual.reservation) return;

          // The writes are decideReserve's (a tat whose TTL is under 2 s may already be gone).
          const afterReserve = new Map(tats);
          for (const [key, tat] of expected.tats) afterReserve.set(key, tat);
          for (const { subject: who, rule } of tokenLimits) {
            const want = afterReserve.get(limitStateKey(who, rule)) ?? null;
            const value = await read(limiter.keys.limit(tag, who, rule));
            if (want === null || (value === null && Math.ceil(want.ms) - c.now < 2000)) continue;
            assert.equal(value, `${want.ms}:${want.fraction}`);
          }
          for (const { subject: who, rule } of budgets) {
            const start = budgetPeriodStart(rule.period, c.now);
            const key = limiter.keys.budget(tag, who, rule, start);
            const [value, ttl] = await Promise.all([read(key), ns.client.pTTL(key)]);
            assert.equal(value, String(expected.spent.get(budgetStateKey(who, rule, start))));
            const end = budgetPeriodEnd(rule.period, c.now);
            const want = end === null ? 7 * 24 * HOUR_MS : end + HOUR_MS - c.now;
            assert.ok(ttl <= want && ttl > want - 2000, `${rule.period}: ${ttl} vs ${want}`);
          }

          // Settle later (maybe in another period) with other figures: decideSettle's writes.
          // Redis expires keys in real time, not on the manual clock: pin the tats first.
          await Promise.all(
            tokenLimits.map(({ subject: who, rule }) => {
              const tat = afterReserve.get(limitStateKey(who, rule)) ?? null;
              const key = limiter.keys.limit(tag, who, rule);
              return tat === null
                ? ns.client.del(key)
                : ns.client.set(key, `${tat.ms}:${tat.fraction}`);
            }),
          );
          const later = c.now + c.settle.afterMs;
          const figures = { tokens: c.settle.tokens, costMicros: c.settle.costMicros };
          const settled = decideSettle(
            {
              tokenLimits: actual.reservation.tokenLimits.map(({ subject: who, rule }) => ({
                subject: who,
                rule,
                tat: afterReserve.get(limitStateKey(who, rule)) ?? null,
              })),
              budgets: actual.reservation.budgets.map(({ subject: who, rule, periodStartMs }) => ({
                subject: who,
                rule,
                periodStartMs,
                spent: expected.spent.get(budgetStateKey(who, rule, periodStartMs)) ?? null,
              })),
              reserved: { tokens: c.tokens, costMicros: c.costMicros },
              actual: figures,
            },
            later,
          );
          clock.set(later);
          await limiter.settle(actual.reservation, figures);
          assert.equal(limiter.failedSettles, 0);
          if (c.settle.tokens !== c.tokens) {
            for (const { subject: who, rule } of tokenLimits) {
              const want = settled.tats.get(limitStateKey(who, rule)) ?? null;
              const value = await read(limiter.keys.limit(tag, who, rule));
              if (want === null) assert.equal(value, null);
              else if (value !== null || Math.ceil(want.ms) - later >= 2000) {
                assert.equal(value, `${want.ms}:${want.fraction}`);
              }
            }
          }
          if (c.settle.costMicros !== c.costMicros) {
            for (const { subject: who, rule, periodStartMs } of actual.reservation.budgets) {
              const key = budgetStateKey(who, rule, periodStartMs);
              const value = await read(limiter.keys.budget(tag, who, rule, periodStartMs));
              const end = budgetPeriodEnd(rule.period, periodStartMs);
              // A state whose margin has passed is deleted rather than written (and one with
              // a TTL under 2 s may be gone already: Redis expires in real time).
              const ttl = end === null ? Number.POSITIVE_INFINITY : end + HOUR_MS - later;
              if (ttl <= 0) assert.equal(value, null);
              else if (value !== null || ttl >= 2000) {
                assert.equal(value, String(settled.spent.get(key)));
              }
            }
          }
        }),
        { numRuns: 400 },
      );
    } finally {
      await limiter.close();
    }
  });
});

describe('redis: budgets shared by many nodes', () => {
  test('two nodes, 20 concurrent reserves against a budget of two estimates: exactly 2', async () => {
    const [a, b] = await Promise.all([open(), open()]);
    try {
      const { calls, loadSpent } = store(0);
      const request: ReserveRequest = {
        tokenLimits: [],
        tokens: 0,
        budgets: [
          {
            subject: `owner:${unique()}`,
            rule: { name: 'm', amountMicros: 2000, period: 'month' },
          },
        ],
        costMicros: 1000,
        loadSpent,
      };
      const decisions = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? a! : b!).reserve(request)),
      );
      assert.equal(allowed(decisions), 2);
      // One load per node at most; whichever initialised first wins, the other is ignored.
      assert.ok(calls.length >= 1 && calls.length <= 2, String(calls.length));
    } finally {
      await Promise.all([a!.close(), b!.close()]);
    }
  });

  test('two nodes: a settle on one node frees room seen by the other', async () => {
    const [a, b] = await Promise.all([open(), open()]);
    try {
      const { loadSpent } = store(500);
      const request: ReserveRequest = {
        tokenLimits: [
          { subject: `key:${unique()}`, rule: { name: 'tpm', limit: 1000, windowSeconds: 3600 } },
        ],
        tokens: 600,
        budgets: [
          {
            subject: `owner:${unique()}`,
            rule: { name: 'total', amountMicros: 2500, period: 'total' },
          },
        ],
        costMicros: 1000,
        loadSpent,
      };
      const first = await a!.reserve(request);
      assert.equal(first.allowed, true);
      assert.equal((await b!.reserve(request)).code, 'RATE_LIMITED');
      await a!.settle(first.reservation!, { tokens: 100, costMicros: 200 });
      const second = await b!.reserve(request);
      assert.deepEqual(
        [second.code, second.tokenLimits[0]?.remaining, second.budgets[0]?.spentMicros],
        ['VALID', 300, 1700],
      );
    } finally {
      await Promise.all([a!.close(), b!.close()]);
    }
  });

  test('Redis forgets the state (flushed): it is loaded again, and the store’s answer counts', async () => {
    const limiter = await open();
    try {
      const subject = `owner:${unique()}`;
      const rule: BudgetRule = { name: 'weekly', amountMicros: 10_000, period: 'week' };
      const first = store(1000);
      const request = (loadSpent: ReserveRequest['loadSpent']): ReserveRequest => ({
        tokenLimits: [],
        tokens: 0,
        budgets: [{ subject, rule }],
        costMicros: 4000,
        loadSpent,
      });
      assert.equal((await limiter.reserve(request(first.loadSpent))).budgets[0]?.spentMicros, 5000);
      assert.equal((await limiter.reserve(request(first.loadSpent))).budgets[0]?.spentMicros, 9000);
      assert.equal(first.calls.length, 1);
      // Flushed (restart, eviction, FLUSHDB): only this test's keys, the server is shared.
      const keys = (await ns.keys()).filter((key) => key.includes(subject));
      assert.equal(keys.length, 1);
      assert.equal(await ns.client.del(keys), 1);
      // The store by now has what was settled meanwhile: 8,000.
      const second = store(8000);
      const reloaded = await limiter.reserve(request(second.loadSpent));
      assert.deepEqual(
        [reloaded.code, reloaded.budgets[0]?.spentMicros],
        ['BUDGET_EXCEEDED', 8000],
      );
      assert.deepEqual(second.calls, [budgetPeriodStart('week', Date.now())]);
      // The loaded state was kept although the request was denied: no second load.
      await limiter.reserve(request(second.loadSpent));
      assert.equal(second.calls.length, 1);
    } finally {
      await limiter.close();
    }
  });

  test('a period computed on a clock that disagrees with the script’s is computed again', async () => {
    // The node's first reading is in the old hour, the script's (and every later) in the new.
    const hour = Date.UTC(2027, 5, 1, 11);
    let readings = 0;
    const skewed: Clock = { now: () => (readings++ === 0 ? hour - 1 : hour) };
    const limiter = await open({ clockOverride: skewed });
    try {
      const { calls, loadSpent } = store(0);
      const decision = await limiter.reserve({
        tokenLimits: [],
        tokens: 0,
        budgets: [
          { subject: `key:${unique()}`, rule: { name: 'h', amountMicros: 10, period: 'hour' } },
        ],
        costMicros: 3,
        loadSpent,
      });
      assert.equal(decision.allowed, true);
      assert.deepEqual(calls, [hour]);
      assert.equal(decision.reservation?.budgets[0]?.periodStartMs, hour);
      assert.equal(decision.budgets[0]?.resetSeconds, 3600);
    } finally {
      await limiter.close();
    }
  });

  test('budget keys: one slot with the request’s other keys; not the amount', () => {
    const limiter = new RedisRateLimiter({ url: 'redis://127.0.0.1:1', prefix: 'kw:' });
    try {
      const rule: BudgetRule = { name: 'm|{x}', amountMicros: 5, period: 'month' };
      const start = Date.UTC(2026, 0, 1);
      assert.equal(
        limiter.keys.budget('owner:acme', 'key:k1', rule, start),
        'kw:{owner:acme}:bg:key:k1|m%7C%7Bx%7D|month|1767225600000',
      );
      assert.equal(
        limiter.keys.budget('owner:acme', 'key:k1', rule, start),
        limiter.keys.budget('owner:acme', 'key:k1', { ...rule, amountMicros: 9 }, start),
      );
      const request = {
        tokenLimits: [{ subject: 'key:k1', rule: { name: 't', limit: 1, windowSeconds: 1 } }],
        tokens: 0,
        budgets: [{ subject: 'owner:acme', rule }],
        costMicros: 0,
      };
      assert.equal(redisReserveTagOf(request), 'owner:acme');
      assert.equal(redisReserveTagOf({ ...request, budgets: [] }), 'key:k1');
      assert.equal(redisReserveTagOf({ ...request, tag: 'owner:z' }), 'owner:z');
    } finally {
      void limiter.close();
    }
  });
});

describe('redis: reserve and settle when Redis does not answer', () => {
  test('reserve rejects fast with RedisLimiterError; settle never rejects, it reports and counts', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise((resolve) => server.close(resolve));
    const errors: Error[] = [];
    const limiter = new RedisRateLimiter({
      url: `redis://127.0.0.1:${port}`,
      onError: (error) => errors.push(error),
    });
    try {
      const started = performance.now();
      await assert.rejects(
        limiter.reserve({
          tokenLimits: [],
          tokens: 0,
          budgets: [{ subject: 'key:x', rule: { name: 'b', amountMicros: 1, period: 'day' } }],
          costMicros: 1,
          loadSpent: async () => 0,
        }),
        { name: 'RedisLimiterError' },
      );
      assert.ok(performance.now() - started < 1500);
      const before = errors.length;
      await limiter.settle(
        {
          tokenLimits: [],
          tokens: 0,
          budgets: [
            {
              subject: 'key:x',
              rule: { name: 'b', amountMicros: 1, period: 'day' },
              periodStartMs: budgetPeriodStart('day', Date.now()),
            },
          ],
          costMicros: 1,
          tag: 'key:x',
        },
        { tokens: 0, costMicros: 0 },
      );
      assert.equal(limiter.failedSettles, 1);
      assert.ok(errors.length > before);
    } finally {
      await limiter.close();
    }
  });
});

test('redis: a flushed script cache costs one EVAL for reserve and settle too (NOSCRIPT)', async () => {
  const limiter = await open();
  try {
    const request: ReserveRequest = {
      tokenLimits: [
        { subject: `key:${unique()}`, rule: { name: 't', limit: 100, windowSeconds: 3600 } },
      ],
      tokens: 10,
      budgets: [],
      costMicros: 0,
      loadSpent: async () => 0,
    };
    const first = await limiter.reserve(request);
    await ns.client.scriptFlush();
    await limiter.settle(first.reservation!, { tokens: 5, costMicros: 0 });
    assert.equal(limiter.failedSettles, 0);
    await ns.client.scriptFlush();
    assert.equal((await limiter.reserve(request)).tokenLimits[0]?.remaining, 85);
  } finally {
    await limiter.close();
  }
});
