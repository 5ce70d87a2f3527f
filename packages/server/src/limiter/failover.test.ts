import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { manualClock } from '../clock/index.ts';
import { BudgetLoadError } from './budget.ts';
import { FailoverRateLimiter } from './failover.ts';
import { MemoryRateLimiter } from './memory.ts';
import type {
  LimitRequest,
  RateLimiter,
  Reservation,
  ReserveRequest,
  SettleActual,
} from './types.ts';

function flakyPrimary(): RateLimiter & { down: boolean; inner: MemoryRateLimiter } {
  const inner = new MemoryRateLimiter({ clock: manualClock(0), sweepIntervalMs: 0 });
  const flaky = {
    down: false,
    inner,
    consume: (r: LimitRequest) =>
      flaky.down ? Promise.reject(new Error('ECONNREFUSED')) : inner.consume(r),
    reserve: (r: ReserveRequest) =>
      flaky.down ? Promise.reject(new Error('ECONNREFUSED')) : inner.reserve(r),
    settle: (r: Reservation, actual: SettleActual) => inner.settle(r, actual),
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

describe('reserve while the primary is down', () => {
  const monthly = { name: 'monthly', amountMicros: 30_000, period: 'month' } as const;
  const tpm = { name: 'tpm', limit: 30_000, windowSeconds: 60, unit: 'tokens' } as const;
  const reserveRequest = (loadSpent: ReserveRequest['loadSpent']): ReserveRequest => ({
    tokenLimits: [{ subject: 'key:k', rule: tpm }],
    tokens: 1000,
    budgets: [{ subject: 'owner:o', rule: monthly }],
    costMicros: 1000,
    loadSpent,
  });
  const failover = (mode: 'local' | 'open' | 'closed', primary = flakyPrimary()) => {
    const fallback = new MemoryRateLimiter({ clock: manualClock(0), sweepIntervalMs: 0 });
    const limiter = new FailoverRateLimiter(primary, fallback, { mode, expectedNodes: 3 });
    return { limiter, primary, fallback };
  };

  test('local: each node may spend its share of what the store says is left', async () => {
    const { limiter, primary, fallback } = failover('local');
    primary.down = true;
    const loads: Array<[string, string, number]> = [];
    // 12,000 of 30,000 spent: 18,000 left, a third of it (6,000) for this node.
    const loadSpent: ReserveRequest['loadSpent'] = async (subject, rule, start) => {
      loads.push([subject, rule.name, start]);
      return 12_000;
    };
    const decisions = await Promise.all(
      Array.from({ length: 20 }, () => limiter.reserve(reserveRequest(loadSpent))),
    );
    assert.equal(decisions.filter((d) => d.allowed).length, 6);
    assert.equal(decisions.find((d) => !d.allowed)?.code, 'BUDGET_EXCEEDED');
    // The store is asked with the real rule; the answer shows the real name, the local share.
    assert.deepEqual(loads, [['owner:o', 'monthly', 0]]);
    assert.deepEqual(
      [decisions[0]?.budgets[0]?.name, decisions[0]?.budgets[0]?.amountMicros],
      ['monthly', 10_000],
    );
    assert.equal(decisions[0]?.tokenLimits[0]?.limit, 10_000);
    // Settled where it was reserved, even once the primary is back.
    primary.down = false;
    const reservation = decisions.find((d) => d.allowed)?.reservation;
    assert.ok(reservation);
    await limiter.settle(reservation, { tokens: 0, costMicros: 0 });
    assert.equal(primary.inner.size.budgets, 0, 'the primary never saw it');
    assert.equal(fallback.size.budgets, 1);
    const back = await limiter.reserve(reserveRequest(async () => 12_000));
    assert.deepEqual([back.allowed, back.budgets[0]?.amountMicros], [true, 30_000]);
    assert.equal(limiter.degraded, false);
  });

  test('local: token limits are shared out like consume’s limits', async () => {
    const { limiter, primary } = failover('local');
    primary.down = true;
    const request = { ...reserveRequest(async () => 0), budgets: [], tokens: 4000 };
    const decisions = await Promise.all(Array.from({ length: 5 }, () => limiter.reserve(request)));
    assert.equal(decisions.filter((d) => d.allowed).length, 2); // 10,000 / 4,000
    assert.equal(decisions.find((d) => !d.allowed)?.code, 'RATE_LIMITED');
  });

  test('local: a later outage starts its budget states afresh from the store', async () => {
    const { limiter, primary } = failover('local');
    primary.down = true;
    assert.equal((await limiter.reserve(reserveRequest(async () => 0))).allowed, true);
    primary.down = false;
    await limiter.reserve(reserveRequest(async () => 0));
    primary.down = true;
    // Meanwhile the cluster spent everything: the second outage knows it.
    const later = await limiter.reserve(reserveRequest(async () => 30_000));
    assert.equal(later.code, 'BUDGET_EXCEEDED');
  });

  test('open admits without reserving; closed refuses with Retry-After 1', async () => {
    const open = failover('open');
    open.primary.down = true;
    const admitted = await open.limiter.reserve(reserveRequest(async () => 30_000));
    assert.deepEqual([admitted.allowed, admitted.code], [true, 'VALID']);
    assert.ok(admitted.reservation);
    await open.limiter.settle(admitted.reservation, { tokens: 5, costMicros: 5 });
    assert.equal(open.fallback.size.budgets + open.primary.inner.size.budgets, 0);

    const closed = failover('closed');
    closed.primary.down = true;
    const refused = await closed.limiter.reserve(reserveRequest(async () => 0));
    assert.deepEqual(
      [refused.allowed, refused.code, refused.retryAfterSeconds, refused.reservation],
      [false, 'RATE_LIMITED', 1, null],
    );
  });

  test('a bad request or a failing store is an error, not an outage', async () => {
    const { limiter } = failover('open');
    await assert.rejects(
      limiter.reserve({ ...reserveRequest(async () => 0), tokens: -1 }),
      RangeError,
    );
    await assert.rejects(
      limiter.reserve(
        reserveRequest(async () => {
          throw new Error('store down');
        }),
      ),
      BudgetLoadError,
    );
    assert.equal(limiter.degraded, false);
  });
});
