import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { type ManualClock, manualClock } from '../clock/index.ts';
import { BudgetLoadError, budgetPeriodStart } from './budget.ts';
import type {
  BudgetRule,
  CreditsConfig,
  CreditsState,
  LimitDecision,
  LimitRequest,
  RateLimiter,
  RateLimitRule,
  Reservation,
  ReserveDecision,
  ReserveRequest,
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

    // ---- reserve → settle: token limits and money budgets (the gateway) ----

    /** A `loadSpent` that answers `spent` after `delayMs`, recording every call. */
    const store = (spent = 0, delayMs = 5) => {
      const calls: Array<[string, string, number]> = [];
      const loadSpent: ReserveRequest['loadSpent'] = async (who, budgetRule, periodStartMs) => {
        calls.push([who, budgetRule.name, periodStartMs]);
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        return spent;
      };
      return { calls, loadSpent };
    };
    const budgetRule = (
      name: string,
      amountMicros: number,
      period: BudgetRule['period'] = 'total',
    ): BudgetRule => ({ name, amountMicros, period });
    const tokenRule = (name: string, limit: number): RateLimitRule => ({
      name,
      limit,
      windowSeconds: HOUR_S,
      unit: 'tokens',
    });
    const reserveCodes = (decisions: ReserveDecision[]) =>
      decisions.map((decision) => decision.code);
    const allowed = (decisions: ReserveDecision[]) =>
      decisions.filter((decision) => decision.allowed).length;
    const reservationOf = (decision: ReserveDecision): Reservation => {
      assert.ok(decision.reservation, decision.code);
      return decision.reservation;
    };

    test('reserve: 20 concurrent reserves against a budget of two estimates admit exactly 2', async () => {
      const { calls, loadSpent } = store(0);
      const request: ReserveRequest = {
        tokenLimits: [],
        tokens: 0,
        budgets: [{ subject: subject('key'), rule: budgetRule('lifetime', 2000) }],
        costMicros: 1000,
        loadSpent,
      };
      const decisions = await Promise.all(
        Array.from({ length: 20 }, () => limiter.reserve(request)),
      );
      assert.equal(allowed(decisions), 2);
      assert.equal(reserveCodes(decisions).filter((code) => code === 'BUDGET_EXCEEDED').length, 18);
      assert.ok(decisions.every((d) => (d.budgets[0]?.spentMicros ?? 0) <= 2000));
      assert.equal(calls.length, 1);
      const denied = decisions.find((d) => !d.allowed)!;
      assert.deepEqual([denied.retryAfterSeconds, denied.reservation], [null, null]);
    });

    test('reserve: loadSpent is asked once for 20 concurrent first uses, and its answer counts', async () => {
      const { calls, loadSpent } = store(7000, 20);
      const rule = budgetRule('monthly', 10_000, 'month');
      const request: ReserveRequest = {
        tokenLimits: [],
        tokens: 0,
        budgets: [{ subject: subject('owner'), rule }],
        costMicros: 1000,
        loadSpent,
      };
      const decisions = await Promise.all(
        Array.from({ length: 20 }, () => limiter.reserve(request)),
      );
      assert.equal(allowed(decisions), 3);
      assert.deepEqual(calls, [
        [subject('owner'), 'monthly', budgetPeriodStart('month', backendNow())],
      ]);
      // Held from now on: no more loads, and the state goes on from there.
      const again = await limiter.reserve({ ...request, costMicros: 0 });
      assert.deepEqual(
        [again.code, again.budgets[0]?.spentMicros, again.budgets[0]?.remainingMicros],
        ['VALID', 10_000, 0],
      );
      assert.equal(calls.length, 1);
    });

    test('settle: a smaller actual frees room for another request; a larger one blocks', async () => {
      const { loadSpent } = store(0);
      const request: ReserveRequest = {
        tokenLimits: [],
        tokens: 0,
        budgets: [{ subject: subject('key'), rule: budgetRule('daily', 3000, 'month') }],
        costMicros: 1000,
        loadSpent,
      };
      const first = await Promise.all([1, 2, 3].map(() => limiter.reserve(request)));
      assert.equal(allowed(first), 3);
      assert.equal((await limiter.reserve(request)).code, 'BUDGET_EXCEEDED');
      await limiter.settle(reservationOf(first[0]!), { tokens: 0, costMicros: 0 });
      const fourth = await limiter.reserve(request);
      assert.deepEqual([fourth.code, fourth.budgets[0]?.spentMicros], ['VALID', 3000]);
      await limiter.settle(reservationOf(first[1]!), { tokens: 0, costMicros: 2000 });
      // 4,000 spent of 3,000: even a free request waits for the next period.
      const blocked = await limiter.reserve({ ...request, costMicros: 0 });
      assert.equal(blocked.code, 'BUDGET_EXCEEDED');
      assert.deepEqual(
        [blocked.budgets[0]?.spentMicros, blocked.budgets[0]?.remainingMicros],
        [4000, 0],
      );
      assert.ok((blocked.retryAfterSeconds ?? 0) > 0);
      // Settling a refund below zero stops at zero.
      for (const decision of [first[2]!, fourth]) {
        await limiter.settle(reservationOf(decision), { tokens: 0, costMicros: 0 });
      }
      // (2,000 left: settling one reservation three more times would go to −1,000.)
      for (let i = 0; i < 3; i++) {
        await limiter.settle(reservationOf(first[1]!), { tokens: 0, costMicros: 0 });
      }
      const after = await limiter.reserve({ ...request, costMicros: 0 });
      assert.equal(after.budgets[0]?.spentMicros, 0);
    });

    test('reserve: a budget that denies moves no token limit (all or nothing)', async () => {
      const { loadSpent } = store(0);
      const limits = [
        { subject: subject('key'), rule: tokenRule('tpm', 10_000) },
        { subject: subject('owner'), rule: tokenRule('tpm', 50_000) },
      ];
      const budgets = [{ subject: subject('owner'), rule: budgetRule('lifetime', 5000) }];
      const first = await limiter.reserve({
        tokenLimits: limits,
        tokens: 1000,
        budgets,
        costMicros: 4000,
        loadSpent,
      });
      assert.deepEqual(
        first.tokenLimits.map((limit) => limit.remaining),
        [9000, 49_000],
      );
      const denied = await limiter.reserve({
        tokenLimits: limits,
        tokens: 2000,
        budgets,
        costMicros: 1001,
        loadSpent,
      });
      assert.equal(denied.code, 'BUDGET_EXCEEDED');
      assert.deepEqual(
        denied.tokenLimits.map((limit) => limit.remaining),
        [9000, 49_000],
      );
      const check = await limiter.reserve({
        tokenLimits: limits,
        tokens: 0,
        budgets: [],
        costMicros: 0,
        loadSpent,
      });
      assert.deepEqual(
        check.tokenLimits.map((limit) => limit.remaining),
        [9000, 49_000],
      );
      // And a token limit that denies charges no budget.
      const tooMany = await limiter.reserve({
        tokenLimits: limits,
        tokens: 9001,
        budgets,
        costMicros: 1000,
        loadSpent,
      });
      assert.equal(tooMany.code, 'RATE_LIMITED');
      assert.equal(tooMany.budgets[0]?.spentMicros, 4000);
      const fits = await limiter.reserve({
        tokenLimits: [],
        tokens: 0,
        budgets,
        costMicros: 1000,
        loadSpent,
      });
      assert.deepEqual([fits.code, fits.budgets[0]?.spentMicros], ['VALID', 5000]);
    });

    test('tokens: settle gives back and charges debts; a rule used by consume is the same bucket', async () => {
      const { loadSpent } = store(0);
      const tpm = { subject: subject('key'), rule: tokenRule('tpm', 10_000) };
      const request = (tokens: number): ReserveRequest => ({
        tokenLimits: [tpm],
        tokens,
        budgets: [],
        costMicros: 0,
        loadSpent,
      });
      const reserved = await limiter.reserve(request(4000));
      assert.equal(reserved.tokenLimits[0]?.remaining, 6000);
      await limiter.settle(reservationOf(reserved), { tokens: 1000, costMicros: 0 });
      assert.equal((await limiter.reserve(request(0))).tokenLimits[0]?.remaining, 9000);
      const viaConsume = await limiter.consume({ limits: [tpm], cost: 0 });
      assert.equal(viaConsume.limits[0]?.remaining, 9000);

      const tooBig = await limiter.reserve(request(10_001));
      assert.deepEqual([tooBig.code, tooBig.retryAfterSeconds], ['RATE_LIMITED', null]);

      const small = await limiter.reserve(request(1000));
      await limiter.settle(reservationOf(small), { tokens: 25_000, costMicros: 0 });
      // 1,000 + 25,000 tokens at 0.36 s each: 9,360 s behind, 5,760 s past the window.
      const debt = await limiter.reserve(request(1));
      assert.equal(debt.code, 'RATE_LIMITED');
      assert.ok(
        debt.retryAfterSeconds !== null &&
          debt.retryAfterSeconds <= 5761 &&
          debt.retryAfterSeconds >= 5759,
        String(debt.retryAfterSeconds),
      );
      assert.equal(debt.tokenLimits[0]?.remaining, 0);
    });

    test(
      'budgets: a period rolls over at its first ms; a late settle lands in its own period',
      timeTravel,
      async () => {
        const { calls, loadSpent } = store(0);
        const rule = budgetRule('hourly', 2000, 'hour');
        const request: ReserveRequest = {
          tokenLimits: [],
          tokens: 0,
          budgets: [{ subject: subject('key'), rule }],
          costMicros: 1000,
          loadSpent,
        };
        const hour = Date.UTC(2026, 0, 1, 11);
        clock.set(hour - 1);
        const old = await Promise.all([1, 2, 3].map(() => limiter.reserve(request)));
        assert.deepEqual(reserveCodes(old), ['VALID', 'VALID', 'BUDGET_EXCEEDED']);
        assert.equal(old[2]?.retryAfterSeconds, 1);
        assert.equal(old[2]?.budgets[0]?.resetSeconds, 1);
        clock.set(hour);
        const fresh = await limiter.reserve(request);
        assert.deepEqual([fresh.code, fresh.budgets[0]?.spentMicros], ['VALID', 1000]);
        assert.equal(fresh.budgets[0]?.resetSeconds, 3600);
        assert.deepEqual(
          calls.map(([, , start]) => start),
          [hour - 3_600_000, hour],
        );
        // Settling an old reservation to 0 frees the old hour, not the new one.
        await limiter.settle(reservationOf(old[0]!), { tokens: 0, costMicros: 0 });
        assert.equal((await limiter.reserve(request)).code, 'VALID');
        assert.equal((await limiter.reserve(request)).code, 'BUDGET_EXCEEDED');
        clock.set(hour - 1);
        const back = await limiter.reserve({ ...request, costMicros: 0 });
        assert.equal(back.budgets[0]?.spentMicros, 1000);
      },
    );

    test('budgets: weeks start on Monday and months on the 1st (UTC)', timeTravel, async () => {
      const { calls, loadSpent } = store(0);
      const request = (period: BudgetRule['period']): ReserveRequest => ({
        tokenLimits: [],
        tokens: 0,
        budgets: [{ subject: subject('key'), rule: budgetRule(period, 1000, period) }],
        costMicros: 1000,
        loadSpent,
      });
      clock.set(Date.UTC(2028, 1, 29, 23, 59, 59, 999)); // a Tuesday, a leap day
      assert.equal((await limiter.reserve(request('week'))).code, 'VALID');
      assert.equal((await limiter.reserve(request('month'))).code, 'VALID');
      const week = await limiter.reserve(request('week'));
      const month = await limiter.reserve(request('month'));
      assert.equal(week.retryAfterSeconds, 5 * 86_400 + 1); // to Monday 6 March
      assert.equal(month.retryAfterSeconds, 1);
      clock.advance(1);
      assert.equal((await limiter.reserve(request('month'))).code, 'VALID');
      assert.equal((await limiter.reserve(request('week'))).code, 'BUDGET_EXCEEDED');
      assert.deepEqual(
        calls.map(([, name, start]) => [name, new Date(start).toISOString()]),
        [
          ['week', '2028-02-28T00:00:00.000Z'],
          ['month', '2028-02-01T00:00:00.000Z'],
          ['month', '2028-03-01T00:00:00.000Z'],
        ],
      );
    });

    test('reserve: nothing to limit is allowed; invalid requests and a failing store are refused', async () => {
      const { loadSpent } = store(0);
      const empty = await limiter.reserve({
        tokenLimits: [],
        tokens: 10,
        budgets: [],
        costMicros: 10,
        loadSpent,
      });
      assert.deepEqual([empty.code, empty.tokenLimits, empty.budgets], ['VALID', [], []]);
      await limiter.settle(reservationOf(empty), { tokens: 99, costMicros: 99 });
      const base = {
        tokenLimits: [],
        tokens: 0,
        budgets: [],
        costMicros: 0,
        loadSpent,
      } satisfies ReserveRequest;
      await assert.rejects(limiter.reserve({ ...base, tokens: -1 }), RangeError);
      await assert.rejects(limiter.reserve({ ...base, costMicros: 0.5 }), RangeError);
      await assert.rejects(
        limiter.reserve({
          ...base,
          budgets: [{ subject: subject('key'), rule: budgetRule('b', 0) }],
        }),
        RangeError,
      );
      await assert.rejects(
        limiter.reserve({
          ...base,
          tokenLimits: [{ subject: subject('key'), rule: { ...tokenRule('t', 1), limit: -1 } }],
        }),
        RangeError,
      );
      await assert.rejects(
        limiter.settle(reservationOf(empty), { tokens: -1, costMicros: 0 }),
        RangeError,
      );
      const budgets = [{ subject: subject('key'), rule: budgetRule('b', 10) }];
      let failures = 0;
      await assert.rejects(
        limiter.reserve({
          ...base,
          budgets,
          costMicros: 1,
          loadSpent: async () => {
            failures++;
            throw new Error('store down');
          },
        }),
        BudgetLoadError,
      );
      await assert.rejects(
        limiter.reserve({ ...base, budgets, costMicros: 1, loadSpent: async () => -3 }),
        BudgetLoadError,
      );
      // Nothing was initialised by the failures: the next request loads again.
      const ok = await limiter.reserve({
        ...base,
        budgets,
        costMicros: 1,
        loadSpent: async () => 9,
      });
      assert.deepEqual([ok.code, ok.budgets[0]?.spentMicros, failures], ['VALID', 10, 1]);
    });
  });
}
