import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { type ManualClock, manualClock } from '../clock/index.ts';
import type {
  CreditsConfig,
  CreditsState,
  LimitDecision,
  LimitRequest,
  RateLimiter,
  RateLimitRule,
} from './types.ts';

/**
 * The contract every limiter backend must pass, unchanged. A backend's test file calls
 * `defineLimiterSuite` with a function that builds a limiter on the given manual clock.
 *
 * A backend that keeps its own time (Redis answers with the server's TIME) passes
 * `followsClock: false`: the cases that move the clock are skipped, and the others use
 * windows and refill intervals long enough (an hour) that real milliseconds passing during
 * the test change nothing. Every subject is unique per test, so a shared server is fine.
 */
export interface LimiterSuiteOptions {
  /** Whether the backend reads the clock it is given; false skips the time-travel cases. */
  followsClock?: boolean;
}

const HOUR_S = 3600;

export function defineLimiterSuite(
  backend: string,
  makeLimiter: (clock: ManualClock) => Promise<RateLimiter>,
  options: LimiterSuiteOptions = {},
): void {
  const followsClock = options.followsClock ?? true;
  const timeTravel = followsClock ? {} : { skip: 'the backend keeps its own time' };

  describe(`limiter contract: ${backend}`, () => {
    let clock: ManualClock;
    let limiter: RateLimiter;
    let run: string;

    beforeEach(async () => {
      clock = manualClock();
      limiter = await makeLimiter(clock);
      run = randomUUID();
    });
    afterEach(async () => {
      await limiter.close();
    });

    const subject = (name: string) => `${name}:${run}`;
    /** The time the backend sees, for the stored `lastRefillAt` of fresh credits. */
    const backendNow = () => (followsClock ? clock.now() : Date.now());
    const rule = (name: string, limit: number, windowSeconds = HOUR_S): RateLimitRule => ({
      name,
      limit,
      windowSeconds,
    });
    const credits = (
      who: string,
      remaining: number,
      refill: CreditsConfig['refill'] = null,
    ): NonNullable<LimitRequest['credits']> => ({
      subject: subject(who),
      config: { refill },
      initial: { remaining, lastRefillAt: backendNow() },
    });
    const consumeTimes = async (request: LimitRequest, times: number) => {
      const decisions: LimitDecision[] = [];
      for (let i = 0; i < times; i++) decisions.push(await limiter.consume(request));
      return decisions;
    };
    const codes = (decisions: LimitDecision[]) => decisions.map((decision) => decision.code);
    const count = (decisions: LimitDecision[], code: LimitDecision['code']) =>
      decisions.filter((decision) => decision.code === code).length;
    const ours = (changes: Array<{ subject: string; state: CreditsState }>) =>
      changes.filter((change) => change.subject.endsWith(run));

    test('nothing to limit: VALID', async () => {
      assert.deepEqual(await limiter.consume({ limits: [], cost: 1 }), {
        allowed: true,
        code: 'VALID',
        limits: [],
        retryAfterSeconds: null,
        credits: null,
      });
    });

    test('admits exactly `limit` at one instant, then denies with the emission interval', async () => {
      const request = {
        limits: [{ subject: subject('key'), rule: rule('requests', 10) }],
        cost: 1,
      };
      const decisions = await consumeTimes(request, 10);
      assert.deepEqual(codes(decisions), Array(10).fill('VALID'));
      assert.deepEqual(
        decisions.map((decision) => decision.limits[0]?.remaining),
        [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
      );
      const denied = await limiter.consume(request);
      assert.equal(denied.allowed, false);
      assert.equal(denied.code, 'RATE_LIMITED');
      assert.equal(denied.retryAfterSeconds, 360); // 3600 s / 10
      assert.deepEqual(denied.limits, [
        {
          subject: subject('key'),
          name: 'requests',
          limit: 10,
          windowSeconds: HOUR_S,
          remaining: 0,
          resetSeconds: HOUR_S,
        },
      ]);
    });

    test('refills at exactly the right moment', timeTravel, async () => {
      const request = {
        limits: [{ subject: subject('key'), rule: rule('requests', 10, 1) }],
        cost: 1,
      };
      assert.equal(count(await consumeTimes(request, 11), 'VALID'), 10);
      clock.advance(99);
      const early = await limiter.consume(request);
      assert.equal(early.code, 'RATE_LIMITED');
      assert.equal(early.retryAfterSeconds, 1);
      clock.advance(1);
      assert.equal((await limiter.consume(request)).code, 'VALID');
      assert.equal((await limiter.consume(request)).code, 'RATE_LIMITED');
      clock.advance(1000);
      assert.equal(count(await consumeTimes(request, 11), 'VALID'), 10);
    });

    test('all or nothing: a denied burst spends nothing from requests', async () => {
      const requests = { subject: subject('key'), rule: rule('requests', 100) };
      const burst = { subject: subject('key'), rule: rule('burst', 3) };
      const both = { limits: [requests, burst], cost: 1 };
      assert.deepEqual(codes(await consumeTimes(both, 3)), ['VALID', 'VALID', 'VALID']);
      const denials = await consumeTimes(both, 5);
      assert.deepEqual(codes(denials), Array(5).fill('RATE_LIMITED'));
      assert.deepEqual(
        denials.map((decision) => decision.limits.map((limit) => limit.remaining)),
        Array(5).fill([97, 0]),
      );
      const alone = await limiter.consume({ limits: [requests], cost: 1 });
      assert.equal(alone.limits[0]?.remaining, 96);
    });

    test(
      'all or nothing after the burst refills: requests was never charged',
      timeTravel,
      async () => {
        const requests = { subject: subject('key'), rule: rule('requests', 100) };
        const burst = { subject: subject('key'), rule: rule('burst', 3, 3) };
        const both = { limits: [requests, burst], cost: 1 };
        await consumeTimes(both, 10);
        clock.advance(1000);
        const next = await limiter.consume(both);
        assert.equal(next.code, 'VALID');
        assert.deepEqual(
          next.limits.map((limit) => limit.remaining),
          [96, 0],
        );
      },
    );

    test('keys sharing an owner share its limit; a denied owner spends nothing from the key', async () => {
      const owner = { subject: subject('owner'), rule: rule('requests', 5) };
      const keyA = {
        limits: [{ subject: subject('keyA'), rule: rule('requests', 100) }, owner],
        cost: 1,
      };
      const keyB = {
        limits: [{ subject: subject('keyB'), rule: rule('requests', 100) }, owner],
        cost: 1,
      };
      assert.equal(count(await consumeTimes(keyA, 3), 'VALID'), 3);
      const b = await consumeTimes(keyB, 4);
      assert.deepEqual(codes(b), ['VALID', 'VALID', 'RATE_LIMITED', 'RATE_LIMITED']);
      assert.deepEqual(
        b[3]?.limits.map((limit) => [limit.subject, limit.remaining]),
        [
          [subject('keyB'), 98],
          [subject('owner'), 0],
        ],
      );
    });

    test('QUOTA_EXCEEDED spends no rate-limit tokens', async () => {
      const limits = [{ subject: subject('key'), rule: rule('requests', 10) }];
      const request = { limits, credits: credits('key', 2), cost: 1 };
      const decisions = await consumeTimes(request, 5);
      assert.deepEqual(codes(decisions), [
        'VALID',
        'VALID',
        'QUOTA_EXCEEDED',
        'QUOTA_EXCEEDED',
        'QUOTA_EXCEEDED',
      ]);
      assert.deepEqual(decisions[4]?.credits, { remaining: 0 });
      assert.equal(decisions[4]?.limits[0]?.remaining, 8);
      assert.equal(decisions[4]?.retryAfterSeconds, null);
      const alone = await limiter.consume({ limits, cost: 1 });
      assert.equal(alone.limits[0]?.remaining, 7);
    });

    test('RATE_LIMITED spends no credits', async () => {
      const request = {
        limits: [{ subject: subject('key'), rule: rule('burst', 2) }],
        credits: credits('key', 100),
        cost: 1,
      };
      const decisions = await consumeTimes(request, 6);
      assert.deepEqual(codes(decisions), [
        'VALID',
        'VALID',
        'RATE_LIMITED',
        'RATE_LIMITED',
        'RATE_LIMITED',
        'RATE_LIMITED',
      ]);
      assert.deepEqual(
        decisions.map((decision) => decision.credits?.remaining),
        [99, 98, 98, 98, 98, 98],
      );
      const [change] = ours(await limiter.drainCreditChanges());
      assert.equal(change?.state.remaining, 98);
    });

    test('cost: spends that many; a cost that does not fit spends nothing; 0 only checks', async () => {
      const limits = [{ subject: subject('key'), rule: rule('requests', 10) }];
      const with_ = (cost: number) =>
        limiter.consume({ limits, credits: credits('key', 12), cost });
      const four = await with_(4);
      assert.deepEqual(
        [four.code, four.limits[0]?.remaining, four.credits?.remaining],
        ['VALID', 6, 8],
      );
      const seven = await with_(7);
      assert.deepEqual([seven.code, seven.limits[0]?.remaining], ['RATE_LIMITED', 6]);
      assert.equal(seven.retryAfterSeconds, 360);
      const six = await with_(6);
      assert.deepEqual(
        [six.code, six.limits[0]?.remaining, six.credits?.remaining],
        ['VALID', 0, 2],
      );
      const check = await with_(0);
      assert.deepEqual(
        [check.code, check.limits[0]?.remaining, check.credits?.remaining],
        ['VALID', 0, 2],
      );
      const tooBig = await limiter.consume({
        limits: [{ subject: subject('other'), rule: rule('r', 10) }],
        cost: 11,
      });
      assert.equal(tooBig.code, 'RATE_LIMITED');
      assert.equal(tooBig.retryAfterSeconds, null);
      const overCredits = await limiter.consume({
        limits: [],
        credits: credits('key', 0),
        cost: 3,
      });
      assert.equal(overCredits.code, 'QUOTA_EXCEEDED');
      const emptyCheck = await limiter.consume({ limits: [], credits: credits('key', 0), cost: 0 });
      assert.deepEqual([emptyCheck.code, emptyCheck.credits?.remaining], ['VALID', 2]);
    });

    test('credits with a refill: retryAfterSeconds is the time to the refill', async () => {
      const request = {
        limits: [],
        credits: credits('key', 1, { amount: 5, intervalSeconds: HOUR_S, mode: 'add' }),
        cost: 1,
      };
      assert.equal((await limiter.consume(request)).code, 'VALID');
      const denied = await limiter.consume(request);
      assert.equal(denied.code, 'QUOTA_EXCEEDED');
      // Within a second of an hour, whatever clock the backend keeps.
      assert.ok(
        denied.retryAfterSeconds !== null &&
          denied.retryAfterSeconds <= HOUR_S &&
          denied.retryAfterSeconds >= HOUR_S - 1,
        String(denied.retryAfterSeconds),
      );
    });

    test('refill mode add: amount per whole interval, accumulating', timeTravel, async () => {
      const request = {
        limits: [],
        credits: credits('key', 1, { amount: 5, intervalSeconds: 60, mode: 'add' }),
        cost: 1,
      };
      assert.equal((await limiter.consume(request)).credits?.remaining, 0);
      clock.advance(59_999);
      const early = await limiter.consume(request);
      assert.equal(early.code, 'QUOTA_EXCEEDED');
      assert.equal(early.retryAfterSeconds, 1);
      clock.advance(1);
      assert.equal((await limiter.consume(request)).credits?.remaining, 4);
      clock.advance(120_000);
      assert.equal((await limiter.consume(request)).credits?.remaining, 13);
    });

    test('refill mode reset: back to exactly amount, never accumulating', timeTravel, async () => {
      const request = {
        limits: [],
        credits: credits('key', 3, { amount: 10, intervalSeconds: 60, mode: 'reset' }),
        cost: 1,
      };
      assert.equal(count(await consumeTimes(request, 4), 'VALID'), 3);
      clock.advance(60_000);
      assert.equal((await limiter.consume(request)).credits?.remaining, 9);
      clock.advance(180_000);
      assert.equal((await limiter.consume(request)).credits?.remaining, 9);
    });

    test('the backend state wins over `initial` until resetCredits', async () => {
      const spend = (initial: number) =>
        limiter.consume({ limits: [], credits: credits('key', initial), cost: 1 });
      assert.equal(count(await Promise.all([spend(2), spend(2), spend(2)]), 'VALID'), 2);
      assert.equal((await spend(50)).code, 'QUOTA_EXCEEDED');
      await limiter.resetCredits(subject('key'));
      const after = await spend(20);
      assert.deepEqual([after.code, after.credits?.remaining], ['VALID', 19]);
    });

    test('drainCreditChanges: each changed subject once, with its latest state', async () => {
      const spend = (who: string, cost = 1) =>
        limiter.consume({ limits: [], credits: credits(who, 10), cost });
      await spend('a');
      await spend('a');
      await spend('b', 3);
      await spend('a');
      await spend('c', 0); // a check changes nothing
      const changes = ours(await limiter.drainCreditChanges());
      assert.deepEqual(changes.map(({ subject: who, state }) => [who, state.remaining]).sort(), [
        [subject('a'), 7],
        [subject('b'), 7],
      ]);
      assert.deepEqual(ours(await limiter.drainCreditChanges()), []);
      await spend('b');
      await limiter.resetCredits(subject('b'));
      // The operator's new value must not be overwritten by a stale pending change.
      assert.deepEqual(ours(await limiter.drainCreditChanges()), []);
    });

    test('1,000 concurrent consumes against a limit of 100 admit exactly 100', async () => {
      const request = {
        limits: [{ subject: subject('key'), rule: rule('requests', 100) }],
        cost: 1,
      };
      const decisions = await Promise.all(
        Array.from({ length: 1000 }, () => limiter.consume(request)),
      );
      assert.equal(count(decisions, 'VALID'), 100);
      assert.equal(count(decisions, 'RATE_LIMITED'), 900);
    });

    test('credits never go negative under 1,000 concurrent consumes', async () => {
      const request = { limits: [], credits: credits('key', 137), cost: 1 };
      const decisions = await Promise.all(
        Array.from({ length: 1000 }, () => limiter.consume(request)),
      );
      assert.equal(count(decisions, 'VALID'), 137);
      assert.equal(count(decisions, 'QUOTA_EXCEEDED'), 863);
      assert.ok(decisions.every((decision) => (decision.credits?.remaining ?? 0) >= 0));
      const [change] = ours(await limiter.drainCreditChanges());
      assert.equal(change?.state.remaining, 0);
    });

    test('under concurrency, limits and credits together: rate tokens only for admitted', async () => {
      const limits = [{ subject: subject('key'), rule: rule('requests', 100) }];
      const request = { limits, credits: credits('key', 50), cost: 1 };
      const decisions = await Promise.all(
        Array.from({ length: 1000 }, () => limiter.consume(request)),
      );
      assert.equal(count(decisions, 'VALID'), 50);
      const after = await limiter.consume({ limits, cost: 0 });
      assert.equal(after.limits[0]?.remaining, 50);
    });

    test('a rule changed under a subject is survived and enforced', async () => {
      const key = subject('key');
      await consumeTimes({ limits: [{ subject: key, rule: rule('requests', 10) }], cost: 1 }, 10);
      const changed = await consumeTimes(
        { limits: [{ subject: key, rule: rule('requests', 2) }], cost: 1 },
        5,
      );
      assert.ok(count(changed, 'VALID') <= 2);
      assert.equal(changed[4]?.code, 'RATE_LIMITED');
    });

    test('invalid requests are refused', async () => {
      await assert.rejects(limiter.consume({ limits: [], cost: -1 }), RangeError);
      await assert.rejects(
        limiter.consume({ limits: [{ subject: subject('key'), rule: rule('r', 0) }], cost: 1 }),
        RangeError,
      );
    });
  });
}
