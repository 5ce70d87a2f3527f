import assert from 'node:assert/strict';
import { test } from 'node:test';
import { manualClock, systemClock } from '../clock/index.ts';
import { defineLimiterSuite } from './limiter.suite.ts';
import { MemoryRateLimiter } from './memory.ts';

defineLimiterSuite('memory', async (clock) => new MemoryRateLimiter({ clock }));
// The same backend on the wall clock stands in for one that keeps its own time (Redis),
// proving the suite's followsClock: false mode on something real.
defineLimiterSuite(
  'memory on the system clock',
  async () => new MemoryRateLimiter({ clock: systemClock }),
  {
    followsClock: false,
  },
);

const rule = { name: 'requests', limit: 10, windowSeconds: 60 };

test('memory: idle rate-limit states are swept, so memory stays bounded', async () => {
  const clock = manualClock();
  const limiter = new MemoryRateLimiter({ clock, sweepIntervalMs: 0 });
  for (let i = 0; i < 1000; i++) {
    await limiter.consume({ limits: [{ subject: `key:${i}`, rule }], cost: 1 });
  }
  assert.equal(limiter.size.limits, 1000);
  clock.advance(5_999); // one request is 6 s of a 60 s / 10 bucket
  limiter.sweep();
  assert.equal(limiter.size.limits, 1000);
  clock.advance(1);
  limiter.sweep();
  assert.equal(limiter.size.limits, 0);
  // Forgetting an idle state changes no answer.
  const again = await limiter.consume({ limits: [{ subject: 'key:1', rule }], cost: 1 });
  assert.equal(again.limits[0]?.remaining, 9);
  await limiter.close();
});

test('memory: a cost-0 check or a denial stores nothing', async () => {
  const limiter = new MemoryRateLimiter({ clock: manualClock(), sweepIntervalMs: 0 });
  await limiter.consume({ limits: [{ subject: 'key:a', rule }], cost: 0 });
  await limiter.consume({ limits: [{ subject: 'key:b', rule }], cost: 11 });
  assert.equal(limiter.size.limits, 0);
  await limiter.close();
});

test('memory: the old state of a changed rule just goes idle', async () => {
  const clock = manualClock();
  const limiter = new MemoryRateLimiter({ clock, sweepIntervalMs: 0 });
  await limiter.consume({ limits: [{ subject: 'key:a', rule }], cost: 10 });
  const changed = await limiter.consume({
    limits: [{ subject: 'key:a', rule: { ...rule, limit: 20 } }],
    cost: 1,
  });
  // Documented: a new (limit, window) starts a fresh bucket under the new rule.
  assert.equal(changed.limits[0]?.remaining, 19);
  assert.equal(limiter.size.limits, 2);
  clock.advance(60_000);
  limiter.sweep();
  assert.equal(limiter.size.limits, 0);
  await limiter.close();
});

test('memory: clean credits are forgotten when idle; undrained ones are kept', async () => {
  const clock = manualClock();
  const limiter = new MemoryRateLimiter({ clock, sweepIntervalMs: 0, creditsIdleMs: 60_000 });
  const credits = (subject: string) => ({
    subject,
    config: { refill: null },
    initial: { remaining: 5, lastRefillAt: clock.now() },
  });
  await limiter.consume({ limits: [], credits: credits('key:drained'), cost: 1 });
  await limiter.consume({ limits: [], credits: credits('key:pending'), cost: 1 });
  await limiter.drainCreditChanges();
  await limiter.consume({ limits: [], credits: credits('key:pending'), cost: 1 });
  clock.advance(60_000);
  limiter.sweep();
  assert.equal(limiter.size.credits, 1);
  assert.deepEqual(await limiter.drainCreditChanges(), [
    { subject: 'key:pending', state: { remaining: 3, lastRefillAt: clock.now() - 60_000 } },
  ]);
  limiter.sweep();
  assert.equal(limiter.size.credits, 0);
  await limiter.close();
});

test('memory: close stops the sweep but keeps undrained changes', async () => {
  const limiter = new MemoryRateLimiter({ clock: manualClock(), sweepIntervalMs: 10 });
  await limiter.consume({
    limits: [],
    credits: {
      subject: 'key:a',
      config: { refill: null },
      initial: { remaining: 2, lastRefillAt: 0 },
    },
    cost: 1,
  });
  await limiter.close();
  assert.equal((await limiter.drainCreditChanges()).length, 1);
});

test('memory: the sweep timer runs on its own and does not hold the process', async () => {
  const clock = manualClock();
  const limiter = new MemoryRateLimiter({ clock, sweepIntervalMs: 5 });
  await limiter.consume({ limits: [{ subject: 'key:a', rule }], cost: 1 });
  clock.advance(60_000);
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.equal(limiter.size.limits, 0);
  await limiter.close();
});

test('memory: budget states are kept for late settles, then swept; the bound forgets the oldest', async () => {
  const clock = manualClock(Date.UTC(2026, 0, 1, 10, 30));
  const limiter = new MemoryRateLimiter({
    clock,
    sweepIntervalMs: 0,
    totalBudgetIdleMs: 60_000,
    maxBudgetStates: 3,
  });
  let loads = 0;
  const reserve = (subject: string, period: 'hour' | 'total', costMicros = 1) =>
    limiter.reserve({
      tokenLimits: [],
      tokens: 0,
      budgets: [{ subject, rule: { name: 'b', amountMicros: 10, period } }],
      costMicros,
      loadSpent: async () => {
        loads++;
        return 0;
      },
    });
  const hourly = await reserve('key:h', 'hour', 4);
  await reserve('key:t', 'total');
  assert.equal(limiter.size.budgets, 2);
  // The hour ends at 11:00; its state stays until 12:00 (the margin) for late settles.
  clock.set(Date.UTC(2026, 0, 1, 11, 59, 59, 999));
  await reserve('key:t', 'total');
  limiter.sweep();
  assert.equal(limiter.size.budgets, 2);
  await limiter.settle(hourly.reservation!, { tokens: 0, costMicros: 1 });
  clock.advance(1);
  limiter.sweep();
  assert.equal(limiter.size.budgets, 1, 'the ended hour went; the used total stays');
  clock.advance(60_000);
  limiter.sweep();
  assert.equal(limiter.size.budgets, 0, 'an idle total goes too');
  // Forgetting is safe: the next use loads again.
  const again = await reserve('key:t', 'total');
  assert.equal(again.budgets[0]?.spentMicros, 1);
  assert.equal(loads, 3);
  // At most 3 states: a fourth forgets the least recently used.
  await reserve('key:a', 'total');
  await reserve('key:b', 'total');
  await reserve('key:t', 'total'); // used again: now the most recent
  await reserve('key:c', 'total');
  assert.equal(limiter.size.budgets, 3);
  const before = loads;
  await reserve('key:t', 'total');
  assert.equal(loads, before, 'key:t was kept');
  await reserve('key:a', 'total');
  assert.equal(loads, before + 1, 'key:a had been forgotten');
  await limiter.close();
});

test('memory: consumeNow answers like consume, without a promise', async () => {
  const clock = manualClock();
  const now = new MemoryRateLimiter({ clock, sweepIntervalMs: 0 });
  const later = new MemoryRateLimiter({ clock, sweepIntervalMs: 0 });
  const request = { limits: [{ subject: 'key:a', rule: { ...rule, limit: 3 } }], cost: 1 };
  for (let i = 0; i < 5; i++) {
    const answer = now.consumeNow(request);
    assert.ok(!(answer instanceof Promise));
    assert.deepEqual(answer, await later.consume(request));
  }
  assert.equal(now.consumeNow(request).code, 'RATE_LIMITED');
  assert.throws(() => now.consumeNow({ limits: [], cost: -1 }), RangeError);
});
