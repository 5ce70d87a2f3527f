import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { applyRefill } from './credits.ts';
import { type DecideInput, type DecideOutcome, decideLimits, limitStateKey } from './decide.ts';
import { gcra, type Tat } from './gcra.ts';
import type { CreditsConfig, RateLimitRule } from './types.ts';

const NOW = Date.UTC(2027, 5, 1, 12);
const requests: RateLimitRule = { name: 'requests', limit: 100, windowSeconds: 60 };
const burst: RateLimitRule = { name: 'burst', limit: 3, windowSeconds: 1 };
const KEY = 'key:key_01';
const OWNER = 'owner:acme';

/** The tat after `count` cost-1 requests at NOW on a fresh bucket. */
function used(rule: RateLimitRule, count: number): Tat | null {
  let tat: Tat | null = null;
  for (let i = 0; i < count; i++) tat = gcra(tat, NOW, 1, rule).newTat;
  return tat;
}

const hourly: CreditsConfig = { refill: { amount: 50, intervalSeconds: 3600, mode: 'add' } };

/** decideLimits' input with each limit listed beside its stored state, as a backend reads them. */
interface StatedInput extends Omit<DecideInput, 'limits' | 'tats'> {
  limits: Array<{ subject: string; rule: RateLimitRule; tat: Tat | null }>;
}

/** `decideLimits`, with what an allowed outcome writes also given by state key. */
function decide(input: StatedInput, nowMs: number): DecideOutcome & { written: Map<string, Tat> } {
  const limits = input.limits.map(({ subject, rule }) => ({ subject, rule }));
  const outcome = decideLimits({ ...input, limits, tats: input.limits.map((l) => l.tat) }, nowMs);
  const written = new Map(
    outcome.tats.map((tat, i) => [limitStateKey(limits[i]!.subject, limits[i]!.rule), tat]),
  );
  return { ...outcome, written };
}

describe('decideLimits', () => {
  test('nothing to limit: VALID, nothing to write', () => {
    const outcome = decide({ limits: [], credits: null, cost: 1 }, NOW);
    assert.deepEqual(outcome.decision, {
      allowed: true,
      code: 'VALID',
      limits: [],
      retryAfterSeconds: null,
      credits: null,
    });
    assert.equal(outcome.tats.length, 0);
    assert.equal(outcome.credits, null);
  });

  test('all pass: every rule and the credits are spent, results in request order', () => {
    const outcome = decide(
      {
        limits: [
          { subject: KEY, rule: requests, tat: used(requests, 10) },
          { subject: KEY, rule: burst, tat: null },
        ],
        credits: { subject: KEY, config: hourly, state: { remaining: 7, lastRefillAt: NOW } },
        cost: 2,
      },
      NOW,
    );
    assert.equal(outcome.decision.code, 'VALID');
    assert.deepEqual(outcome.decision.limits, [
      {
        subject: KEY,
        name: 'requests',
        limit: 100,
        windowSeconds: 60,
        remaining: 88,
        resetSeconds: 8,
      },
      { subject: KEY, name: 'burst', limit: 3, windowSeconds: 1, remaining: 1, resetSeconds: 1 },
    ]);
    assert.deepEqual(outcome.decision.credits, { remaining: 5 });
    assert.deepEqual(outcome.credits, { remaining: 5, lastRefillAt: NOW });
    assert.deepEqual(outcome.written.get(limitStateKey(KEY, requests)), {
      ms: NOW + 7200,
      fraction: 0,
    });
    assert.deepEqual(outcome.written.get(limitStateKey(KEY, burst)), {
      ms: NOW + 666,
      fraction: 2,
    });
  });

  test('a denied burst spends nothing from requests or credits (all or nothing)', () => {
    const input: StatedInput = {
      limits: [
        { subject: KEY, rule: requests, tat: used(requests, 10) },
        { subject: KEY, rule: burst, tat: used(burst, 3) },
      ],
      credits: { subject: KEY, config: hourly, state: { remaining: 7, lastRefillAt: NOW } },
      cost: 1,
    };
    const outcome = decide(input, NOW);
    assert.equal(outcome.decision.allowed, false);
    assert.equal(outcome.decision.code, 'RATE_LIMITED');
    assert.equal(outcome.tats.length, 0);
    assert.deepEqual(outcome.credits, { remaining: 7, lastRefillAt: NOW });
    assert.deepEqual(outcome.decision.credits, { remaining: 7 });
    // Reported as they stand, unspent: requests still has 90.
    assert.equal(outcome.decision.limits[0]?.remaining, 90);
    assert.equal(outcome.decision.limits[1]?.remaining, 0);
    // 334 ms until a burst token, rounded up to whole seconds.
    assert.equal(outcome.decision.retryAfterSeconds, 1);
  });

  test('retryAfterSeconds is the longest wait over the denying rules, rounded up', () => {
    const daily: RateLimitRule = { name: 'daily', limit: 2, windowSeconds: 86_400 };
    const outcome = decide(
      {
        limits: [
          { subject: KEY, rule: burst, tat: used(burst, 3) },
          { subject: OWNER, rule: daily, tat: used(daily, 2) },
          { subject: KEY, rule: requests, tat: null },
        ],
        credits: null,
        cost: 1,
      },
      NOW,
    );
    assert.equal(outcome.decision.code, 'RATE_LIMITED');
    assert.equal(outcome.decision.retryAfterSeconds, 43_200);
  });

  test('a cost above a limit can never pass: retryAfterSeconds null', () => {
    const outcome = decide(
      { limits: [{ subject: KEY, rule: burst, tat: null }], credits: null, cost: 4 },
      NOW,
    );
    assert.equal(outcome.decision.code, 'RATE_LIMITED');
    assert.equal(outcome.decision.retryAfterSeconds, null);
  });

  test('rate limits are checked before credits: both short gives RATE_LIMITED', () => {
    const outcome = decide(
      {
        limits: [{ subject: KEY, rule: burst, tat: used(burst, 3) }],
        credits: {
          subject: KEY,
          config: { refill: null },
          state: { remaining: 0, lastRefillAt: NOW },
        },
        cost: 1,
      },
      NOW,
    );
    assert.equal(outcome.decision.code, 'RATE_LIMITED');
  });

  test('QUOTA_EXCEEDED spends no rate-limit tokens; retry when a refill covers the cost', () => {
    const outcome = decide(
      {
        limits: [{ subject: KEY, rule: requests, tat: used(requests, 10) }],
        credits: {
          subject: KEY,
          config: hourly,
          state: { remaining: 1, lastRefillAt: NOW - 20 * 60_000 },
        },
        cost: 2,
      },
      NOW,
    );
    assert.equal(outcome.decision.allowed, false);
    assert.equal(outcome.decision.code, 'QUOTA_EXCEEDED');
    assert.equal(outcome.tats.length, 0);
    assert.equal(outcome.decision.limits[0]?.remaining, 90);
    assert.equal(outcome.decision.retryAfterSeconds, 40 * 60);
    assert.deepEqual(outcome.decision.credits, { remaining: 1 });
  });

  test('QUOTA_EXCEEDED without a refill: retryAfterSeconds null', () => {
    const outcome = decide(
      {
        limits: [],
        credits: {
          subject: KEY,
          config: { refill: null },
          state: { remaining: 0, lastRefillAt: 0 },
        },
        cost: 1,
      },
      NOW,
    );
    assert.equal(outcome.decision.code, 'QUOTA_EXCEEDED');
    assert.equal(outcome.decision.retryAfterSeconds, null);
  });

  test('a due refill is applied first, and returned to write even when denied', () => {
    const state = { remaining: 0, lastRefillAt: NOW - 2 * 3_600_000 - 5 };
    const allowed = decide(
      { limits: [], credits: { subject: KEY, config: hourly, state }, cost: 30 },
      NOW,
    );
    assert.deepEqual(allowed.credits, { remaining: 70, lastRefillAt: NOW - 5 });
    const denied = decide(
      {
        limits: [{ subject: KEY, rule: burst, tat: used(burst, 3) }],
        credits: { subject: KEY, config: hourly, state },
        cost: 1,
      },
      NOW,
    );
    assert.deepEqual(denied.credits, { remaining: 100, lastRefillAt: NOW - 5 });
  });

  test('cost 0 checks without spending: VALID on empty buckets and empty credits', () => {
    const outcome = decide(
      {
        limits: [{ subject: KEY, rule: burst, tat: used(burst, 3) }],
        credits: {
          subject: KEY,
          config: { refill: null },
          state: { remaining: 0, lastRefillAt: NOW },
        },
        cost: 0,
      },
      NOW,
    );
    assert.equal(outcome.decision.code, 'VALID');
    assert.equal(outcome.tats.length, 0);
    assert.equal(outcome.decision.limits[0]?.remaining, 0);
    assert.deepEqual(outcome.decision.credits, { remaining: 0 });
  });

  test('a key and its owner are separate states even under the same rule name', () => {
    const outcome = decide(
      {
        limits: [
          { subject: KEY, rule: requests, tat: null },
          { subject: OWNER, rule: requests, tat: used(requests, 50) },
        ],
        credits: null,
        cost: 1,
      },
      NOW,
    );
    assert.deepEqual(
      outcome.decision.limits.map((limit) => limit.remaining),
      [99, 49],
    );
    assert.equal(outcome.tats.length, 2);
  });

  test('the same (subject, rule) listed twice is charged twice, as two requests would be', () => {
    const twice = decide(
      {
        limits: [
          { subject: KEY, rule: burst, tat: used(burst, 1) },
          { subject: KEY, rule: burst, tat: used(burst, 1) },
        ],
        credits: null,
        cost: 1,
      },
      NOW,
    );
    assert.deepEqual(
      twice.decision.limits.map((limit) => limit.remaining),
      [1, 0],
    );
    assert.deepEqual(twice.written.get(limitStateKey(KEY, burst)), used(burst, 3));
    const tooMany = decide(
      {
        limits: [
          { subject: KEY, rule: burst, tat: used(burst, 2) },
          { subject: KEY, rule: burst, tat: used(burst, 2) },
        ],
        credits: null,
        cost: 1,
      },
      NOW,
    );
    assert.equal(tooMany.decision.code, 'RATE_LIMITED');
  });

  test('state keys tell subjects, names, limits and windows apart, unambiguously', () => {
    const keys = new Set([
      limitStateKey('key:a', requests),
      limitStateKey('key:a', { ...requests, limit: 101 }),
      limitStateKey('key:a', { ...requests, windowSeconds: 61 }),
      limitStateKey('key:a', { ...requests, name: 'other' }),
      limitStateKey('owner:a', requests),
      limitStateKey('key:a","requests', { ...requests, name: '' }),
    ]);
    assert.equal(keys.size, 6);
  });

  test('invalid input is refused with a RangeError', () => {
    assert.throws(() => decide({ limits: [], credits: null, cost: -1 }, NOW), RangeError);
    assert.throws(
      () =>
        decide(
          {
            limits: [{ subject: KEY, rule: { ...burst, limit: 0 }, tat: null }],
            credits: null,
            cost: 1,
          },
          NOW,
        ),
      RangeError,
    );
    assert.throws(
      () =>
        decide(
          {
            limits: [],
            credits: { subject: KEY, config: hourly, state: { remaining: -3, lastRefillAt: NOW } },
            cost: 1,
          },
          NOW,
        ),
      RangeError,
    );
  });

  test('property: a denial writes nothing; a pass writes exactly every spend', () => {
    const rules = [burst, requests, { name: 'sevens', limit: 7, windowSeconds: 60 }];
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            rule: fc.constantFrom(...rules),
            subject: fc.constantFrom(KEY, OWNER),
            used: fc.integer({ min: 0, max: 110 }),
          }),
          { maxLength: 4 },
        ),
        fc.option(fc.integer({ min: 0, max: 10 })),
        fc.integer({ min: 0, max: 5 }),
        (entries, remaining, cost) => {
          // Distinct (subject, rule) pairs, each with some usage.
          const seen = new Set<string>();
          const limits = entries
            .filter(({ subject, rule }) => {
              const key = limitStateKey(subject, rule);
              if (seen.has(key)) return false;
              seen.add(key);
              return true;
            })
            .map(({ subject, rule, used: count }) => ({
              subject,
              rule,
              tat: used(rule, Math.min(count, rule.limit)),
            }));
          const credits =
            remaining === null
              ? null
              : { subject: KEY, config: hourly, state: { remaining, lastRefillAt: NOW } };
          const outcome = decide({ limits, credits, cost }, NOW);
          const alone = limits.map(({ rule, tat }) => gcra(tat, NOW, cost, rule));
          const rateOk = alone.every((result) => result.allowed);
          const creditsOk = remaining === null || remaining >= cost;
          assert.equal(outcome.decision.allowed, rateOk && creditsOk);
          assert.equal(
            outcome.decision.code,
            !rateOk ? 'RATE_LIMITED' : !creditsOk ? 'QUOTA_EXCEEDED' : 'VALID',
          );
          if (!outcome.decision.allowed || cost === 0) {
            assert.equal(outcome.tats.length, 0);
            if (credits) assert.deepEqual(outcome.credits, applyRefill(credits.state, hourly, NOW));
          } else {
            assert.equal(outcome.tats.length, limits.length);
            limits.forEach(({ subject, rule }, i) => {
              assert.deepEqual(outcome.written.get(limitStateKey(subject, rule)), alone[i]?.newTat);
            });
            if (credits) assert.equal(outcome.credits?.remaining, credits.state.remaining - cost);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('limitStateKey', () => {
  test('the same text for the same (subject, rule), a new one when the rule changes in place', () => {
    const rule = { name: 'requests', limit: 100, windowSeconds: 60 };
    const first = limitStateKey('key:a', rule);
    assert.equal(first, JSON.stringify(['key:a', 'requests', 100, 60]));
    assert.equal(limitStateKey('key:a', { ...rule }), first, 'equal rules, equal states');
    assert.notEqual(limitStateKey('key:b', rule), first);
    rule.limit = 200;
    assert.equal(limitStateKey('key:a', rule), JSON.stringify(['key:a', 'requests', 200, 60]));
  });
});
