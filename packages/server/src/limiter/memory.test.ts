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
