import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { usageEvent } from '../usage/testing/events.ts';
import type { UsageEvent } from '../usage/types.ts';
import type { Store } from './types.ts';
import { USAGE_INSERT_CHUNK } from './usage-repository.ts';

/**
 * The usage contract every store backend must pass, unchanged. Each test works in its own
 * time range (a different UTC day), so the tests share one store without seeing each
 * other's events.
 */
export function defineUsageSuite(backend: string, openStore: () => Promise<Store>): void {
  describe(`usage store contract: ${backend}`, () => {
    let store: Store;
    before(async () => {
      store = await openStore();
    });
    after(async () => {
      await store.close();
    });

    const MIN = 60_000;
    const HOUR = 3_600_000;
    const DAY = 86_400_000;
    /** Midnight UTC of a test's own week (tests may spill into the next day). */
    let nextDay = Date.UTC(2030, 0, 1);
    const day = () => {
      nextDay += 7 * DAY;
      return nextDay;
    };

    const event = (overrides: Partial<UsageEvent> = {}): UsageEvent =>
      usageEvent({
        route: 'GET /v1/orders',
        latencyMs: 2,
        clientIp: '203.0.113.9',
        userAgent: 'curl/8.5.0',
        ...overrides,
      });

    test('events round-trip every field, in insertion order', async () => {
      const t = day();
      const events = [
        event({ at: t, latencyMs: 1.25 }),
        event({
          at: t + 1,
          keyId: null,
          projectId: null,
          ownerId: null,
          env: null,
          outcome: 'MALFORMED',
          entryPoint: 'forward-auth',
          route: null,
          status: 401,
          clientIp: null,
          userAgent: null,
          cost: 0,
        }),
        event({
          at: t + 2,
          entryPoint: 'gateway',
          tokensIn: 1200,
          tokensOut: 345,
          costMicros: 4_500_000_000,
          cost: 7,
        }),
      ];
      await store.usage.insertBatch(events);
      const stored = await store.usage.listEvents({ from: t, to: t + DAY, limit: 10 });
      assert.deepEqual(
        stored.map(({ id: _id, ...rest }) => rest),
        events.map((e) => ({ ...e, count: 1 })),
      );
      assert.ok(stored[0]!.id < stored[1]!.id && stored[1]!.id < stored[2]!.id);
      const after = await store.usage.listEvents({
        from: t,
        to: t + DAY,
        afterId: stored[0]!.id,
        limit: 1,
      });
      assert.deepEqual(
        after.map((e) => e.at),
        [t + 1],
      );
    });

    test('identical events of one second share a row; counts and roll-ups stay exact', async () => {
      const t = day() + 3_000;
      const hit = (ms: number, latencyMs: number) =>
        event({ at: t + ms, route: 'GET /orders', clientIp: '10.0.0.1', latencyMs });
      await store.usage.insertBatch([
        hit(0, 1),
        hit(10, 2),
        event({ at: t + 20, route: 'GET /orders', clientIp: '10.0.0.2' }), // another client
        hit(999, 6),
        hit(1_000, 4), // the next second
        // Priced gateway calls keep their own rows, however alike.
        event({ at: t + 30, entryPoint: 'gateway', tokensIn: 10, tokensOut: 5, costMicros: 7 }),
        event({ at: t + 31, entryPoint: 'gateway', tokensIn: 10, tokensOut: 5, costMicros: 7 }),
      ]);
      const rows = await store.usage.listEvents({ from: t, to: t + DAY, limit: 10 });
      assert.deepEqual(
        rows.map((r) => [r.at - t, r.count, r.clientIp, r.latencyMs]),
        [
          [0, 3, '10.0.0.1', 3],
          [20, 1, '10.0.0.2', 2],
          [1_000, 1, '10.0.0.1', 4],
          [30, 1, '203.0.113.9', 2],
          [31, 1, '203.0.113.9', 2],
        ],
      );
      assert.equal(await store.usage.countEvents({ from: t, to: t + DAY }), 7);
      assert.equal(await store.usage.countEvents({ from: t, to: t + DAY, keyId: 'key_A' }), 7);
      const [bucket] = await store.usage.query({
        from: t - 3_000,
        to: t + DAY,
        granularity: 'day',
      });
      assert.equal(bucket?.count, 7);
      assert.equal(bucket?.latencyMsAvg, (1 + 2 + 2 + 6 + 4 + 2 + 2) / 7);
    });

    test('routes and user agents are stored redacted and at most 200 characters', async () => {
      const t = day();
      const key = ['kw', 'prod', 'M7H4jxUDDWHP4kZ6A4dxlQYsQIWJuq0uOupm'].join('_');
      await store.usage.insertBatch([
        event({
          at: t,
          route: `GET /v1/orders?api_key=${key}`,
          userAgent: `agent Bearer ${key} ${'x'.repeat(300)}`,
        }),
        event({ at: t + 1, route: `/${'a'.repeat(500)}` }),
      ]);
      const [first, second] = await store.usage.listEvents({ from: t, to: t + DAY, limit: 10 });
      for (const text of [first?.route, first?.userAgent]) {
        assert.ok(text, 'stored');
        assert.ok(!text.includes('M7H4jxUDDWHP4kZ6A4dxlQYsQIWJuq0uOupm'), text);
        assert.ok(text.length <= 200);
      }
      assert.equal(first?.route, 'GET /v1/orders?api_key=kw_prod_…uOupm');
      assert.equal(second?.route?.length, 200);
    });

    test('a batch lands whole or not at all', async () => {
      const t = day();
      // A second apart: rows of their own (identical events of one second would share one).
      const good = Array.from({ length: USAGE_INSERT_CHUNK }, (_, i) =>
        event({ at: t + i * 1000 }),
      );
      // The last event breaks a NOT NULL column after a full chunk has been inserted.
      const bad = {
        ...event({ at: t + USAGE_INSERT_CHUNK * 1000 }),
        outcome: null,
      } as unknown as UsageEvent;
      await assert.rejects(store.usage.insertBatch([...good, bad]));
      assert.equal(await store.usage.countEvents({ from: t, to: t + DAY }), 0);
      assert.deepEqual(await store.usage.query({ from: t, to: t + DAY, granularity: 'day' }), []);
    });

    test('inside store.transaction, usage rolls back with the rest', async () => {
      const t = day();
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.usage.insertBatch([event({ at: t })]);
          throw new Error('abort');
        }),
      );
      assert.equal(await store.usage.countEvents({ from: t, to: t + DAY }), 0);
    });

    test('roll-ups sum per minute, hour and day, with events on bucket edges', async () => {
      const t = day();
      await store.usage.insertBatch([
        event({ at: t, latencyMs: 10, cost: 2 }), // first ms of the day, hour and minute
        event({ at: t + MIN - 1, latencyMs: 20 }), // last ms of minute 0
        event({ at: t + MIN, latencyMs: 30, tokensIn: 5, tokensOut: 7, costMicros: 11 }),
      ]);
      // A second batch adds to the same rows (the upsert), and fills the hour's and day's last ms.
      await store.usage.insertBatch([
        // A call to a model without a price: tokens, no cost, counted as unpriced.
        event({ at: t + HOUR - 1, latencyMs: 40, tokensIn: 1, unpriced: true }),
        event({ at: t + HOUR, latencyMs: 50 }),
        event({ at: t + DAY - 1, latencyMs: 60, costMicros: 9 }),
        event({ at: t + DAY, latencyMs: 70 }), // the next day: outside every query below
      ]);
      const range = { from: t, to: t + DAY };
      const minutes = await store.usage.query({ ...range, granularity: 'minute' });
      assert.deepEqual(
        minutes.map((b) => [b.bucketStart - t, b.count]),
        [
          [0, 2],
          [MIN, 1],
          [HOUR - MIN, 1],
          [HOUR, 1],
          [DAY - MIN, 1],
        ],
      );
      assert.deepEqual(minutes[0], {
        bucketStart: t,
        count: 2,
        cost: 3,
        tokensIn: 0,
        tokensOut: 0,
        costMicros: 0,
        unpriced: 0,
        latencyMsAvg: 15,
      });
      const hours = await store.usage.query({ ...range, granularity: 'hour' });
      assert.deepEqual(hours, [
        {
          bucketStart: t,
          count: 4,
          cost: 5,
          tokensIn: 6,
          tokensOut: 7,
          costMicros: 11,
          unpriced: 1,
          latencyMsAvg: 25,
        },
        {
          bucketStart: t + HOUR,
          count: 1,
          cost: 1,
          tokensIn: 0,
          tokensOut: 0,
          costMicros: 0,
          unpriced: 0,
          latencyMsAvg: 50,
        },
        {
          bucketStart: t + DAY - HOUR,
          count: 1,
          cost: 1,
          tokensIn: 0,
          tokensOut: 0,
          costMicros: 9,
          unpriced: 0,
          latencyMsAvg: 60,
        },
      ]);
      const unpriced = await store.usage.listEvents({
        from: t + HOUR - 1,
        to: t + HOUR,
        limit: 10,
      });
      assert.deepEqual(
        unpriced.map((e) => [e.tokensIn, e.costMicros, e.unpriced]),
        [[1, null, true]],
        'the stored event says its cost is unknown',
      );
      const days = await store.usage.query({ from: t, to: t + 2 * DAY, granularity: 'day' });
      assert.deepEqual(
        days.map((b) => [b.bucketStart - t, b.count, b.cost, b.latencyMsAvg]),
        [
          [0, 6, 7, 35],
          [DAY, 1, 1, 70],
        ],
      );
      // `from` inclusive, `to` exclusive, on bucket starts.
      const middle = await store.usage.query({
        from: t + MIN,
        to: t + HOUR,
        granularity: 'minute',
      });
      assert.deepEqual(
        middle.map((b) => b.bucketStart - t),
        [MIN, HOUR - MIN],
      );
    });

    test('queries filter by key, owner, project, env and outcome, and group by outcome', async () => {
      const t = day();
      await store.usage.insertBatch([
        event({ at: t, keyId: 'key_A', outcome: 'VALID' }),
        event({ at: t + 1, keyId: 'key_A', outcome: 'RATE_LIMITED', status: 429 }),
        event({ at: t + 2, keyId: 'key_B', ownerId: 'user_2', env: 'dev', outcome: 'VALID' }),
        event({ at: t + 3, keyId: 'key_C', projectId: 'prj_Q', ownerId: null, outcome: 'REVOKED' }),
        event({
          at: t + 4,
          keyId: null,
          projectId: null,
          ownerId: null,
          env: null,
          outcome: 'NOT_FOUND',
        }),
        event({
          at: t + 5,
          keyId: null,
          projectId: null,
          ownerId: null,
          env: null,
          outcome: 'NOT_FOUND',
        }),
      ]);
      const count = async (filter: Record<string, string>) => {
        const buckets = await store.usage.query({
          ...filter,
          from: t,
          to: t + DAY,
          granularity: 'hour',
        });
        return buckets.reduce((n, b) => n + b.count, 0);
      };
      assert.equal(await count({}), 6);
      assert.equal(await count({ keyId: 'key_A' }), 2);
      assert.equal(await count({ ownerId: 'user_1' }), 2);
      assert.equal(await count({ ownerId: 'user_2' }), 1);
      assert.equal(await count({ projectId: 'prj_Q' }), 1);
      assert.equal(await count({ env: 'dev' }), 1);
      assert.equal(await count({ outcome: 'NOT_FOUND' }), 2);
      assert.equal(await count({ keyId: 'key_A', outcome: 'VALID' }), 1);
      assert.equal(await count({ keyId: 'key_missing' }), 0);

      const grouped = await store.usage.query({
        from: t,
        to: t + DAY,
        granularity: 'day',
        groupBy: 'outcome',
      });
      assert.deepEqual(
        grouped.map((b) => [b.bucketStart, b.outcome, b.count]),
        [
          [t, 'NOT_FOUND', 2],
          [t, 'RATE_LIMITED', 1],
          [t, 'REVOKED', 1],
          [t, 'VALID', 2],
        ],
      );
      // Key-less events share one roll-up row per bucket: NULL dimensions do not split them.
      assert.equal(
        (
          await store.usage.query({
            from: t,
            to: t + DAY,
            granularity: 'minute',
            outcome: 'NOT_FOUND',
          })
        ).length,
        1,
      );

      assert.equal(await store.usage.countEvents({ from: t, to: t + DAY }), 6);
      assert.equal(await store.usage.countEvents({ keyId: 'key_A', from: t, to: t + DAY }), 2);
      assert.equal(
        await store.usage.countEvents({ outcome: 'NOT_FOUND', from: t, to: t + DAY }),
        2,
      );
    });

    test('large batches span several statements and still roll up once', async () => {
      const t = day();
      const n = USAGE_INSERT_CHUNK * 3 + 7;
      // Spread over many minutes and keys, so the roll-ups also need several statements.
      const events = Array.from({ length: n }, (_, i) =>
        event({ at: t + i * 1000, keyId: `key_${i % 7}`, latencyMs: 1 }),
      );
      await store.usage.insertBatch(events);
      assert.equal(await store.usage.countEvents({ from: t, to: t + DAY }), n);
      const [total] = await store.usage.query({ from: t, to: t + DAY, granularity: 'day' });
      assert.equal(total?.count, n);
      const minutes = await store.usage.query({ from: t, to: t + DAY, granularity: 'minute' });
      assert.equal(
        minutes.reduce((sum, b) => sum + b.count, 0),
        n,
      );
      assert.equal(minutes.length, Math.ceil(n / 60));
    });

    test('an empty batch writes nothing', async () => {
      const before = await store.usage.countEvents({});
      await store.usage.insertBatch([]);
      assert.equal(await store.usage.countEvents({}), before);
    });
  });
}
