import assert from 'node:assert/strict';
import { test } from 'node:test';
import { manualClock } from '../clock/index.ts';
import { FailoverRateLimiter } from './failover.ts';
import { MemoryRateLimiter } from './memory.ts';
import type { LimitRequest, RateLimiter } from './types.ts';

function flakyPrimary(): RateLimiter & { down: boolean } {
  const inner = new MemoryRateLimiter({ clock: manualClock(0), sweepIntervalMs: 0 });
  const flaky = {
    down: false,
    consume: (r: LimitRequest) =>
      flaky.down ? Promise.reject(new Error('ECONNREFUSED')) : inner.consume(r),
    resetCredits: (s: string) => inner.resetCredits(s),
    drainCreditChanges: () => inner.drainCreditChanges(),
    close: () => inner.close(),
  };
  return flaky;
}

const request: LimitRequest = {
  limits: [{ subject: 'key:k', rule: { name: 'requests', limit: 30, windowSeconds: 60 } }],
  cost: 1,
};

test('local: while the primary is down, each node admits its share (limit / expected nodes), then switches back', async () => {
  const primary = flakyPrimary();
  const changes: boolean[] = [];
  const limiter = new FailoverRateLimiter(
    primary,
    new MemoryRateLimiter({ clock: manualClock(0), sweepIntervalMs: 0 }),
    {
      mode: 'local',
      expectedNodes: 3,
      onStateChange: (degraded) => changes.push(degraded),
    },
  );
  assert.equal((await limiter.consume(request)).allowed, true);
  primary.down = true;
  const decisions = await Promise.all(Array.from({ length: 20 }, () => limiter.consume(request)));
  assert.equal(decisions.filter((d) => d.allowed).length, 10);
  assert.equal(decisions.find((d) => !d.allowed)?.code, 'RATE_LIMITED');
  assert.equal(limiter.degraded, true);
  primary.down = false;
  assert.equal((await limiter.consume(request)).allowed, true);
  assert.equal(limiter.degraded, false);
  assert.deepEqual(changes, [true, false], 'one switch each way, not one per request');
});

test('open admits and closed refuses while the primary is down', async () => {
  for (const [mode, allowed] of [
    ['open', true],
    ['closed', false],
  ] as const) {
    const primary = flakyPrimary();
    primary.down = true;
    const limiter = new FailoverRateLimiter(
      primary,
      new MemoryRateLimiter({ clock: manualClock(0), sweepIntervalMs: 0 }),
      { mode, expectedNodes: 3 },
    );
    const decision = await limiter.consume(request);
    assert.equal(decision.allowed, allowed, mode);
    if (!allowed) assert.equal(decision.retryAfterSeconds, 1);
  }
});

test('a bad request is an error, not an outage', async () => {
  const limiter = new FailoverRateLimiter(
    flakyPrimary(),
    new MemoryRateLimiter({ clock: manualClock(0), sweepIntervalMs: 0 }),
    { mode: 'open', expectedNodes: 1 },
  );
  await assert.rejects(limiter.consume({ ...request, cost: -1 }), RangeError);
  assert.equal(limiter.degraded, false);
});
