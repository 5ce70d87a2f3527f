import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { type ManualClock, manualClock } from '../clock/index.ts';
import { redisNamespace } from '../testing/redis.ts';
import { startTcpProxy } from '../testing/tcp-proxy.ts';
import { decideLimits, limitStateKey } from './decide.ts';
import type { Tat } from './gcra.ts';
import { defineLimiterSuite } from './limiter.suite.ts';
import { MemoryRateLimiter } from './memory.ts';
import {
  RedisLimiterError,
  RedisLimiterKeys,
  RedisRateLimiter,
  type RedisRateLimiterOptions,
  redisTagOf,
} from './redis.ts';
import type { CreditsConfig, CreditsState, LimitRequest, RateLimitRule } from './types.ts';

// Runs against the real Redis (fails, with how to start it, when there is none).
const ns = await redisNamespace('limiter');
after(() => ns.cleanup());

const open = (options: RedisRateLimiterOptions = {}) =>
  RedisRateLimiter.connect({ url: ns.url, prefix: ns.prefix, ...options });

defineLimiterSuite('redis', () => open(), { followsClock: false });
// The same script on a manual clock passed in as `now`: the time-travel cases run too.
defineLimiterSuite('redis on a manual clock', (clock) => open({ clockOverride: clock }));

const HOUR_S = 3600;
const unique = () => randomUUID().slice(0, 8);

describe('redis: the script decides exactly as decideLimits', () => {
  const arbRule = fc.record({
    name: fc.constantFrom('requests', 'burst', 'a|b{c}%'),
    limit: fc.oneof(
      fc.integer({ min: 1, max: 12 }),
      fc.integer({ min: 1, max: 1_000_000 }),
      // limit · window far beyond 2^53: the exact shift-and-add path of the script.
      fc.integer({ min: 1, max: 1e13 }),
    ),
    windowSeconds: fc.oneof(
      fc.integer({ min: 1, max: 120 }),
      fc.integer({ min: 1, max: 1e9 }),
      fc.constantFrom(1, 60, 3600, 86_400),
    ),
  });
  const arbCredits = fc.record({
    refill: fc.option(
      fc.record({
        amount: fc.oneof(fc.integer({ min: 0, max: 10 }), fc.integer({ min: 0, max: 2 ** 52 })),
        intervalSeconds: fc.oneof(
          fc.integer({ min: 1, max: 120 }),
          fc.integer({ min: 1, max: 1e8 }),
        ),
        mode: fc.constantFrom<'add' | 'reset'>('add', 'reset'),
      }),
    ),
    initialRemaining: fc.oneof(
      fc.integer({ min: 0, max: 10 }),
      fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    ),
    initialAgoMs: fc.oneof(
      fc.integer({ min: -1000, max: 600_000 }),
      fc.integer({ min: 0, max: 1e12 }),
    ),
    held: fc.option(
      fc.record({
        remaining: fc.oneof(
          fc.integer({ min: 0, max: 10 }),
          fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        ),
        agoMs: fc.oneof(
          fc.integer({ min: -1000, max: 600_000 }),
          fc.integer({ min: 0, max: 1e12 }),
        ),
        dirty: fc.boolean(),
      }),
    ),
  });
  const arbCase = fc.record({
    now: fc.integer({ min: 1e12, max: 4e12 }),
    rules: fc.array(arbRule, { minLength: 1, maxLength: 3 }),
    limits: fc.array(
      fc.record({
        who: fc.constantFrom('key:A', 'owner:O', 'key:B'),
        rule: fc.nat(2),
        // The stored state: none, or a tat this far from now, in windows (may be past).
        tat: fc.option(
          fc.record({ windows: fc.double({ min: -2, max: 1.5, noNaN: true }), fraction: fc.nat() }),
        ),
      }),
      { maxLength: 5 },
    ),
    credits: fc.option(fc.record({ who: fc.constantFrom('key:A', 'owner:O'), config: arbCredits })),
    cost: fc.oneof(
      fc.constant(0),
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 0, max: 2e13 }),
    ),
  });

  test('property: same states, same now, same cost → same decision and same writes', async () => {
    const clock = manualClock();
    const limiter = await open({ clockOverride: clock });
    try {
      await fc.assert(
        fc.asyncProperty(arbCase, async (c) => {
          const run = unique();
          const subject = (who: string) => `${who}-${run}`;
          const limits = c.limits.map(({ who, rule }) => ({
            subject: subject(who),
            rule: c.rules[rule % c.rules.length]!,
          }));
          let credits: LimitRequest['credits'] = null;
          let held: (CreditsState & { dirty: boolean }) | null = null;
          if (c.credits) {
            const { config } = c.credits;
            const refill: CreditsConfig['refill'] = config.refill;
            credits = {
              subject: subject(c.credits.who),
              config: { refill },
              initial: {
                remaining: config.initialRemaining,
                lastRefillAt: c.now - config.initialAgoMs,
              },
            };
            held = config.held && {
              remaining: config.held.remaining,
              lastRefillAt: c.now - config.held.agoMs,
              dirty: config.held.dirty,
            };
          }
          const request: LimitRequest = { limits, credits, cost: c.cost };
          const tag = redisTagOf(request);

          // Seed the stored states (the first mention of a (subject, rule) decides).
          const seeded = new Map<string, Tat | null>();
          c.limits.forEach(({ tat }, i) => {
            const { subject: who, rule } = limits[i]!;
            const key = limitStateKey(who, rule);
            if (seeded.has(key)) return;
            const windowMs = rule.windowSeconds * 1000;
            seeded.set(
              key,
              tat && {
                ms: c.now + Math.round(tat.windows * windowMs),
                fraction: tat.fraction % rule.limit,
              },
            );
          });
          const writes: Array<Promise<unknown>> = [];
          if (tag !== null) {
            for (const { subject: who, rule } of limits) {
              const tat = seeded.get(limitStateKey(who, rule));
              if (tat)
                writes.push(
                  ns.client.set(limiter.keys.limit(tag, who, rule), `${tat.ms}:${tat.fraction}`),
                );
            }
            if (credits && held) {
              writes.push(
                ns.client.set(
                  limiter.keys.credits(tag, credits.subject),
                  `${held.remaining}:${held.lastRefillAt}:${held.dirty ? 1 : 0}`,
                ),
              );
            }
          }
          await Promise.all(writes);

          const before = credits ? (held ?? credits.initial) : null;
          const expected = decideLimits(
            {
              limits,
              tats: limits.map(
                ({ subject: who, rule }) => seeded.get(limitStateKey(who, rule)) ?? null,
              ),
              credits:
                credits && before
                  ? {
                      ...credits,
                      state: { remaining: before.remaining, lastRefillAt: before.lastRefillAt },
                    }
                  : null,
              cost: c.cost,
            },
            c.now,
          );
          clock.set(c.now);
          const actual = await limiter.consume(request);
          assert.deepEqual(actual, expected.decision);
          if (tag === null) return;

          // The states written back are exactly decideLimits' (a TTL under 2 s may be gone).
          const written = new Map(
            expected.tats.map((tat, i) => [
              limitStateKey(limits[i]!.subject, limits[i]!.rule),
              tat,
            ]),
          );
          for (const { subject: who, rule } of limits) {
            const key = limiter.keys.limit(tag, who, rule);
            const want =
              written.get(limitStateKey(who, rule)) ?? seeded.get(limitStateKey(who, rule)) ?? null;
            const [value, ttl] = await Promise.all([ns.client.get(key), ns.client.pTTL(key)]);
            if (want === null) {
              assert.equal(value, null);
              continue;
            }
            const wroteTtl = written.has(limitStateKey(who, rule))
              ? (want.fraction > 0 ? want.ms + 1 : want.ms) - c.now
              : null;
            if (value === null && wroteTtl !== null && wroteTtl < 2000) continue;
            assert.equal(value, `${want.ms}:${want.fraction}`);
            if (wroteTtl === null) assert.equal(ttl, -1);
            else assert.ok(ttl <= wroteTtl && ttl > wroteTtl - 2000, `${ttl} vs ${wroteTtl}`);
          }
          if (credits && before && expected.credits) {
            const value = await ns.client.get(limiter.keys.credits(tag, credits.subject));
            const changed =
              expected.credits.remaining !== before.remaining ||
              expected.credits.lastRefillAt !== before.lastRefillAt;
            const dirty = changed || (held?.dirty ?? false);
            assert.equal(
              value,
              `${expected.credits.remaining}:${expected.credits.lastRefillAt}:${dirty ? 1 : 0}`,
            );
          }
        }),
        {
          numRuns: 400,
          examples: [
            // limit · window and cost · window far past 2^53, with a small and a huge limit.
            [
              {
                now: 1.7e12,
                rules: [{ name: 'requests', limit: 3, windowSeconds: 9e12 }],
                limits: [{ who: 'key:A', rule: 0, tat: { windows: 0.2, fraction: 2 } }],
                credits: null,
                cost: 2,
              },
            ],
            [
              {
                now: 1.7e12,
                rules: [{ name: 'requests', limit: 9e15, windowSeconds: 1e9 }],
                limits: [
                  { who: 'owner:O', rule: 0, tat: { windows: 0.3, fraction: 123_456_789 } },
                  { who: 'owner:O', rule: 0, tat: null },
                ],
                credits: null,
                cost: 3e15,
              },
            ],
          ],
        },
      );
    } finally {
      await limiter.close();
    }
  });

  test('property: random request sequences give the memory backend’s answers, step by step', async () => {
    // Emission intervals ≥ 5 s, so no state expires in real time during a run.
    const rules: RateLimitRule[] = [
      { name: 'requests', limit: 10, windowSeconds: 60 },
      { name: 'burst', limit: 3, windowSeconds: 15 },
      { name: 'sevens', limit: 7, windowSeconds: 70 },
    ];
    const configs: CreditsConfig[] = [
      { refill: null },
      { refill: { amount: 5, intervalSeconds: 30, mode: 'add' } },
      { refill: { amount: 4, intervalSeconds: 45, mode: 'reset' } },
    ];
    const arbStep = fc.oneof(
      {
        weight: 8,
        arbitrary: fc.record({
          kind: fc.constant('consume' as const),
          advanceMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 20_000 })),
          limits: fc.array(
            fc.record({ who: fc.constantFrom('key:A', 'key:B', 'owner:O'), rule: fc.nat(2) }),
            {
              maxLength: 3,
            },
          ),
          credits: fc.option(
            fc.record({ who: fc.constantFrom('key:A', 'owner:O'), config: fc.nat(2) }),
          ),
          cost: fc.oneof(fc.constant(1), fc.integer({ min: 0, max: 4 })),
        }),
      },
      { weight: 1, arbitrary: fc.constant({ kind: 'drain' as const }) },
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constant('reset' as const),
          who: fc.constantFrom('key:A', 'owner:O'),
        }),
      },
    );
    const clock: ManualClock = manualClock();
    const redis = await open({ clockOverride: clock });
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(arbStep, { minLength: 1, maxLength: 30 }), async (steps) => {
          const run = unique();
          const subject = (who: string) => `${who}-${run}`;
          const memory = new MemoryRateLimiter({ clock, sweepIntervalMs: 0 });
          const ours = (changes: Array<{ subject: string; state: CreditsState }>) =>
            changes
              .filter((change) => change.subject.endsWith(run))
              .sort((a, b) => a.subject.localeCompare(b.subject));
          // Each subject keeps one stored initial and one config, as a real store would.
          const initial = new Map<string, CreditsState>();
          for (const step of steps) {
            if (step.kind === 'drain') {
              assert.deepEqual(
                ours(await redis.drainCreditChanges()),
                ours(await memory.drainCreditChanges()),
              );
            } else if (step.kind === 'reset') {
              await redis.resetCredits(subject(step.who));
              await memory.resetCredits(subject(step.who));
            } else {
              clock.advance(step.advanceMs);
              // The owner tags the request whenever the owner appears in it; keep the tag stable.
              const limits = [
                ...step.limits.map(({ who, rule }) => ({
                  subject: subject(who),
                  rule: rules[rule]!,
                })),
                { subject: subject('owner:O'), rule: rules[0]! },
              ];
              let credits: LimitRequest['credits'] = null;
              if (step.credits) {
                const who = subject(step.credits.who);
                if (!initial.has(who))
                  initial.set(who, { remaining: 6, lastRefillAt: clock.now() });
                credits = {
                  subject: who,
                  config: configs[step.credits.config]!,
                  initial: initial.get(who)!,
                };
              }
              const request = { limits, credits, cost: step.cost };
              assert.deepEqual(await redis.consume(request), await memory.consume(request));
            }
          }
          assert.deepEqual(
            ours(await redis.drainCreditChanges()),
            ours(await memory.drainCreditChanges()),
          );
        }),
        { numRuns: 150 },
      );
    } finally {
      await redis.close();
    }
  });
});

describe('redis: many nodes on one Redis', () => {
  const nodes = async (n: number) => Promise.all(Array.from({ length: n }, () => open()));
  const closeAll = (limiters: RedisRateLimiter[]) => Promise.all(limiters.map((l) => l.close()));

  test('3 nodes, 1,000 concurrent consumes against a limit of 100: exactly 100 admitted', async () => {
    const limiters = await nodes(3);
    try {
      const run = unique();
      const request = {
        limits: [
          { subject: `key:${run}`, rule: { name: 'requests', limit: 100, windowSeconds: HOUR_S } },
          {
            subject: `owner:${run}`,
            rule: { name: 'requests', limit: 1000, windowSeconds: HOUR_S },
          },
        ],
        cost: 1,
      };
      const decisions = await Promise.all(
        Array.from({ length: 1000 }, (_, i) => limiters[i % 3]!.consume(request)),
      );
      assert.equal(decisions.filter((d) => d.allowed).length, 100);
      // All or nothing across nodes: the owner was charged for the 100 admitted only.
      const check = await limiters[0]!.consume({ ...request, cost: 0 });
      assert.deepEqual(
        check.limits.map((limit) => limit.remaining),
        [0, 900],
      );
    } finally {
      await closeAll(limiters);
    }
  });

  test('3 nodes: credits never go negative, and the drains hand each change over once, losing nothing', async () => {
    const limiters = await nodes(3);
    try {
      const run = unique();
      const subjects = Array.from({ length: 20 }, (_, i) => `key:${run}-${i}`);
      const initial = { remaining: 37, lastRefillAt: Date.now() };
      const reported = new Map<string, CreditsState[]>();
      const collect = (changes: Array<{ subject: string; state: CreditsState }>) => {
        for (const { subject, state } of changes) {
          if (!subject.startsWith(`key:${run}`)) continue;
          reported.set(subject, [...(reported.get(subject) ?? []), state]);
        }
      };
      let drains = 0;
      const consumes = Array.from({ length: 1000 }, (_, i) =>
        limiters[i % 3]!.consume({
          limits: [],
          credits: { subject: subjects[i % 20]!, config: { refill: null }, initial },
          cost: 1,
        }),
      );
      // Drains on every node while the consumes are in flight.
      const draining = Array.from({ length: 9 }, async (_, i) => {
        await new Promise((resolve) => setTimeout(resolve, i * 3));
        collect(await limiters[i % 3]!.drainCreditChanges());
        drains++;
      });
      const decisions = await Promise.all(consumes);
      await Promise.all(draining);
      assert.equal(drains, 9);
      collect(await limiters[0]!.drainCreditChanges());
      assert.equal(decisions.filter((d) => d.allowed).length, 20 * 37);
      assert.ok(decisions.every((d) => (d.credits?.remaining ?? -1) >= 0));
      for (const subject of subjects) {
        const states = reported.get(subject) ?? [];
        // The latest balance was handed over; nothing is left pending.
        assert.ok(
          states.some((state) => state.remaining === 0),
          `${subject}: ${JSON.stringify(states)}`,
        );
        const value = await ns.client.get(limiters[0]!.keys.credits(subject, subject));
        assert.equal(value, `0:${initial.lastRefillAt}:0`);
      }
      // Handed over once: nothing more to drain anywhere.
      for (const limiter of limiters) {
        const more = (await limiter.drainCreditChanges()).filter(({ subject }) =>
          subject.startsWith(`key:${run}`),
        );
        assert.deepEqual(more, []);
      }
    } finally {
      await closeAll(limiters);
    }
  });

  test('a backlog of changes larger than a pop batch is drained whole, each once', async () => {
    // One shard, so it holds more than one batch (500); its own prefix, as all nodes of a
    // deployment must agree on dirtyShards.
    const limiter = await open({ prefix: `${ns.prefix}backlog:`, dirtyShards: 1 });
    try {
      const run = unique();
      await Promise.all(
        Array.from({ length: 1234 }, (_, i) =>
          limiter.consume({
            limits: [],
            credits: {
              subject: `key:${run}-${i}`,
              config: { refill: null },
              initial: { remaining: 10, lastRefillAt: 0 },
            },
            cost: 1 + (i % 3),
          }),
        ),
      );
      const changes = await limiter.drainCreditChanges();
      assert.equal(changes.length, 1234);
      assert.equal(new Set(changes.map((change) => change.subject)).size, 1234);
      for (const { subject, state } of changes) {
        const i = Number(subject.split('-').at(-1));
        assert.deepEqual(state, { remaining: 10 - (1 + (i % 3)), lastRefillAt: 0 });
      }
      assert.deepEqual(await limiter.drainCreditChanges(), []);
    } finally {
      await limiter.close();
    }
  });

  test('a reset on one node is seen by the others, even under the owner’s tag', async () => {
    const [a, b] = await nodes(2);
    try {
      const run = unique();
      const key = `key:${run}`;
      const request = (remaining: number) => ({
        limits: [
          {
            subject: `owner:${run}`,
            rule: { name: 'requests', limit: 100, windowSeconds: HOUR_S },
          },
        ],
        credits: {
          subject: key,
          config: { refill: null },
          initial: { remaining, lastRefillAt: 0 },
        },
        cost: 1,
      });
      assert.equal((await a!.consume(request(5))).credits?.remaining, 4);
      assert.equal((await b!.consume(request(50))).credits?.remaining, 3);
      // Stored under the owner's tag; resetCredits knows only the subject.
      assert.ok((await ns.keys()).includes(a!.keys.credits(`owner:${run}`, key)));
      await b!.resetCredits(key);
      assert.deepEqual(
        (await a!.drainCreditChanges()).filter((change) => change.subject === key),
        [],
      );
      assert.equal((await a!.consume(request(50))).credits?.remaining, 49);
    } finally {
      await closeAll([a!, b!]);
    }
  });
});

describe('redis: keys', () => {
  /** Redis Cluster's HASH_SLOT: CRC16/XMODEM of the hash tag (or the key) mod 16384. */
  function slot(key: string): number {
    const open = key.indexOf('{');
    if (open >= 0) {
      const close = key.indexOf('}', open + 1);
      if (close > open + 1) key = key.slice(open + 1, close);
    }
    let crc = 0;
    for (const byte of Buffer.from(key)) {
      crc ^= byte << 8;
      for (let i = 0; i < 8; i++)
        crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    }
    return crc % 16384;
  }

  test('the cluster slot function is the real one', () => {
    assert.equal(slot('123456789'), 0x31c3 % 16384);
    assert.equal(slot('foo'), 12182);
    assert.equal(slot('{user1000}.following'), slot('{user1000}.followers'));
  });

  test('every key one request touches is in one cluster slot; the layout', async () => {
    const keys = new RedisLimiterKeys('kw:');
    const rule = { name: 'requests', limit: 100, windowSeconds: 60 };
    const request: LimitRequest = {
      limits: [
        { subject: 'key:k1', rule },
        { subject: 'owner:acme', rule: { ...rule, name: 'r|x{y}' } },
      ],
      credits: {
        subject: 'key:k1',
        config: { refill: null },
        initial: { remaining: 1, lastRefillAt: 0 },
      },
      cost: 1,
    };
    const tag = redisTagOf(request)!;
    assert.equal(tag, 'owner:acme');
    const touched = [
      keys.limit(tag, 'key:k1', rule),
      keys.limit(tag, 'owner:acme', { ...rule, name: 'r|x{y}' }),
      keys.credits(tag, 'key:k1'),
    ];
    assert.deepEqual(touched, [
      'kw:{owner:acme}:rl:key:k1|requests|100|60',
      'kw:{owner:acme}:rl:owner:acme|r%7Cx%7By%7D|100|60',
      'kw:{owner:acme}:cr:key:k1',
    ]);
    assert.equal(new Set(touched.map(slot)).size, 1);
    // The same (subject, rule) maps to the same key whichever request touches it.
    assert.equal(keys.limit(tag, 'owner:acme', rule), keys.limit('owner:acme', 'owner:acme', rule));
    // A subject or name cannot forge another one's key or hash tag.
    assert.notEqual(
      keys.limit('t', 'a|b', { ...rule, name: 'c' }),
      keys.limit('t', 'a', { ...rule, name: 'b|c' }),
    );
    assert.equal(slot(keys.credits('x}y', 's')), slot(keys.limit('x}y', 's', rule)));
    assert.equal(keys.tagged('x}y'), 'kw:{x%7Dy}');
    // Without an owner, the first subject is the tag; an explicit tag wins.
    assert.equal(redisTagOf({ limits: [{ subject: 'key:k2', rule }], cost: 1 }), 'key:k2');
    assert.equal(
      redisTagOf({
        limits: [{ subject: 'key:k2', rule }],
        cost: 1,
        tag: 'owner:z',
      } as LimitRequest),
      'owner:z',
    );
    assert.equal(redisTagOf({ limits: [], cost: 1 }), null);
    assert.throws(() => new RedisLimiterKeys('kw{x}:'), RangeError);
  });

  test('idle state expires: a tat TTL is the time until it passes; clean credits get creditsIdleMs', async () => {
    const limiter = await open({ creditsIdleMs: 5000 });
    try {
      const run = unique();
      const rule = { name: 'requests', limit: 3, windowSeconds: 60 };
      await limiter.consume({
        limits: [{ subject: `key:${run}`, rule }],
        credits: {
          subject: `key:${run}`,
          config: { refill: null },
          initial: { remaining: 5, lastRefillAt: 0 },
        },
        cost: 2,
      });
      const rlKey = limiter.keys.limit(`key:${run}`, `key:${run}`, rule);
      const crKey = limiter.keys.credits(`key:${run}`, `key:${run}`);
      const ttl = await ns.client.pTTL(rlKey);
      assert.ok(ttl > 39_000 && ttl <= 40_000, String(ttl)); // 2 × 20 s
      assert.ok((await ns.client.pTTL(crKey)) > 5000, 'a pending change is kept until drained');
      await limiter.drainCreditChanges();
      const clean = await ns.client.pTTL(crKey);
      assert.ok(clean > 4000 && clean <= 5000, String(clean));
      // A denial or a check writes no rate-limit state.
      await limiter.consume({ limits: [{ subject: `key:${run}-b`, rule }], cost: 4 });
      await limiter.consume({ limits: [{ subject: `key:${run}-c`, rule }], cost: 0 });
      const keys = await ns.keys();
      assert.ok(!keys.some((key) => key.includes(`${run}-b`) || key.includes(`${run}-c`)));
    } finally {
      await limiter.close();
    }
  });

  test('a flushed script cache costs one EVAL, not an error (NOSCRIPT)', async () => {
    const limiter = await open();
    try {
      const request = {
        limits: [{ subject: `key:${unique()}`, rule: { name: 'r', limit: 5, windowSeconds: 60 } }],
        cost: 1,
      };
      assert.equal((await limiter.consume(request)).limits[0]?.remaining, 4);
      await ns.client.scriptFlush();
      assert.equal((await limiter.consume(request)).limits[0]?.remaining, 3);
      assert.equal((await limiter.consume(request)).limits[0]?.remaining, 2);
    } finally {
      await limiter.close();
    }
  });
});

describe('redis: failures', () => {
  const request = {
    limits: [{ subject: 'key:failure', rule: { name: 'r', limit: 5, windowSeconds: 60 } }],
    cost: 1,
  };
  const listen = async (server: Server): Promise<number> => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    assert.ok(address && typeof address === 'object');
    return address.port;
  };
  const closedPort = async () => {
    const server = createServer();
    const port = await listen(server);
    await new Promise((resolve) => server.close(resolve));
    return port;
  };
  const timed = async (work: Promise<unknown>) => {
    const started = performance.now();
    const error = await work.then(
      () => null,
      (error: unknown) => error,
    );
    return { error, ms: performance.now() - started };
  };

  test('Redis unreachable: consume rejects at once, and keeps rejecting fast', async () => {
    const limiter = new RedisRateLimiter({ url: `redis://127.0.0.1:${await closedPort()}` });
    try {
      for (let i = 0; i < 3; i++) {
        const { error, ms } = await timed(limiter.consume(request));
        assert.ok(error instanceof RedisLimiterError, String(error));
        assert.ok(ms < 1500, `${ms} ms`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const connecting = await timed(limiter.ready(300));
      assert.ok(connecting.error instanceof RedisLimiterError);
      await assert.rejects(limiter.drainCreditChanges(), RedisLimiterError);
      await assert.rejects(limiter.resetCredits('key:x'), RedisLimiterError);
    } finally {
      await limiter.close();
    }
    await assert.rejects(
      RedisRateLimiter.connect({ url: `redis://127.0.0.1:${await closedPort()}` }, 300),
      RedisLimiterError,
    );
  });

  /** A TCP proxy to the real Redis that a test can cut, refuse, or freeze. */
  const proxyToRedis = async () => {
    const proxy = await startTcpProxy(new URL(ns.url));
    return Object.assign(proxy, { url: `redis://127.0.0.1:${proxy.port}` });
  };

  test('a server that accepts but never answers: consume rejects at once, never hangs', async () => {
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on('data', () => {}); // swallow everything, answer nothing
    });
    const port = await listen(server);
    const errors: string[] = [];
    const limiter = new RedisRateLimiter({
      url: `redis://127.0.0.1:${port}`,
      connectTimeoutMs: 200,
      onError: (error) => errors.push(error.message),
    });
    try {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const { error, ms } = await timed(limiter.consume(request));
      assert.ok(error instanceof RedisLimiterError, String(error));
      assert.ok(ms < 500, `${ms} ms`);
      // The unanswered handshake is given up on and retried, not waited on forever.
      await new Promise((resolve) => setTimeout(resolve, 400));
      assert.ok(
        errors.some((message) => message.includes('handshake')),
        JSON.stringify(errors),
      );
    } finally {
      await limiter.close();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test('a dropped connection fails fast, then the limiter reconnects by itself', async () => {
    const proxy = await proxyToRedis();
    const errors: Error[] = [];
    const limiter = await RedisRateLimiter.connect({
      url: proxy.url,
      prefix: ns.prefix,
      maxReconnectDelayMs: 200,
      onError: (error) => errors.push(error),
    });
    try {
      const own = { ...request, limits: [{ ...request.limits[0]!, subject: `key:${unique()}` }] };
      assert.equal((await limiter.consume(own)).limits[0]?.remaining, 4);
      proxy.refuse();
      await new Promise((resolve) => setTimeout(resolve, 50));
      for (let i = 0; i < 3; i++) {
        const down = await timed(limiter.consume(own));
        assert.ok(down.error instanceof RedisLimiterError, String(down.error));
        assert.ok(down.ms < 100, `${down.ms} ms`);
      }
      proxy.accept();
      await limiter.ready(3000);
      assert.equal((await limiter.consume(own)).limits[0]?.remaining, 3);
      assert.ok(errors.length > 0, 'connection errors reach onError');
    } finally {
      await limiter.close();
      await proxy.close();
    }
  });

  test('Redis stops answering on an open connection: rejects after commandTimeoutMs, then recovers', async () => {
    const proxy = await proxyToRedis();
    const limiter = await RedisRateLimiter.connect({
      url: proxy.url,
      prefix: ns.prefix,
      commandTimeoutMs: 300,
    });
    try {
      const own = { ...request, limits: [{ ...request.limits[0]!, subject: `key:${unique()}` }] };
      assert.equal((await limiter.consume(own)).limits[0]?.remaining, 4);
      proxy.freeze();
      for (let i = 0; i < 3; i++) {
        const { error, ms } = await timed(limiter.consume(own));
        assert.ok(error instanceof RedisLimiterError, String(error));
        // The first waits its deadline; once the connection is being replaced, at once.
        assert.ok(ms < 1000 && (i > 0 || ms >= 250), `${ms} ms`);
      }
      // After two deadlines without an answer the connection is replaced by a fresh one.
      await limiter.ready(3000);
      const after = await limiter.consume(own);
      // The frozen calls may or may not have reached Redis; never more than were sent.
      assert.ok((after.limits[0]?.remaining ?? -1) <= 3 && (after.limits[0]?.remaining ?? -1) >= 0);
    } finally {
      await limiter.close();
      await proxy.close();
    }
  });

  test('close() is idempotent and a closed limiter rejects', async () => {
    const limiter = await open();
    await limiter.close();
    await limiter.close();
    await assert.rejects(limiter.consume(request), RedisLimiterError);
  });

  test('invalid requests are refused before Redis is asked', async () => {
    const limiter = new RedisRateLimiter({ url: `redis://127.0.0.1:${await closedPort()}` });
    try {
      await assert.rejects(limiter.consume({ limits: [], cost: 1.5 }), RangeError);
      await assert.rejects(
        limiter.consume({
          limits: [],
          credits: {
            subject: 'key:x',
            config: { refill: null },
            initial: { remaining: -1, lastRefillAt: 0 },
          },
          cost: 1,
        }),
        RangeError,
      );
      assert.throws(() => new RedisRateLimiter({ prefix: '{kw}:' }), RangeError);
    } finally {
      await limiter.close();
    }
  });
});
