import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { openSqliteStore } from '../store/index.ts';
import { type UsageBatch, usageEventsOf } from './batch.ts';
import { UsageRecorder } from './recorder.ts';
import { usageEvent } from './testing/events.ts';
import type { UsageEvent } from './types.ts';

const event = (seq: number, overrides: Partial<UsageEvent> = {}): UsageEvent =>
  usageEvent({ at: Date.UTC(2030, 0, 1) + seq, ownerId: null, route: `/seq/${seq}`, ...overrides });

/** A repository that keeps every batch it was given, and can be made to fail or stall. */
function fakeUsage() {
  const batches: UsageEvent[][] = [];
  let failing: Error | null = null;
  let gate: Promise<void> | null = null;
  let active = 0;
  let maxActive = 0;
  return {
    batches,
    get maxActive() {
      return maxActive;
    },
    written: () => batches.flat().map((e) => e.route),
    fail(error: Error | null) {
      failing = error;
    },
    /** Holds every write until the returned function is called. */
    stall(): () => void {
      let open!: () => void;
      gate = new Promise((resolve) => {
        open = resolve;
      });
      return () => {
        gate = null;
        open();
      };
    },
    async insertBatch(events: readonly UsageEvent[]) {
      active += 1;
      maxActive = Math.max(maxActive, active);
      try {
        await sleep(1);
        if (gate) await gate;
        if (failing) throw failing;
        batches.push([...events]);
      } finally {
        active -= 1;
      }
    },
  };
}

const routes = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => `/seq/${from + i}`);

describe('UsageRecorder', () => {
  test('repeats fold in the buffer: they take no room, and each is counted as written', async () => {
    const usage = fakeUsage();
    const recorder = new UsageRecorder(usage, {
      flushIntervalMs: 0,
      maxBatchSize: 10,
      maxBuffered: 5,
    });
    // 1,000 requests of one client in one second: one row, so far below the buffer's bound
    // that nobody waits.
    const waits = [];
    for (let i = 0; i < 1000; i++) waits.push(recorder.record(event(0, { latencyMs: i % 2 })));
    waits.push(recorder.record(event(1)));
    assert.equal(waits.filter((w) => w !== undefined).length, 0);
    assert.equal(recorder.stats.buffered, 1001);
    await recorder.flush();
    assert.deepEqual(
      usage.batches.map((b) => b.map((e) => [e.route, e.count ?? 1, e.latencyMs])),
      [
        [
          ['/seq/0', 1000, 0.5],
          ['/seq/1', 1, 1],
        ],
      ],
    );
    assert.deepEqual([recorder.stats.buffered, recorder.stats.flushed], [0, 1001]);
    await recorder.close();
  });

  test('record returns synchronously and N records are written as one batch', async () => {
    const usage = fakeUsage();
    const recorder = new UsageRecorder(usage, { flushIntervalMs: 0 });
    for (let i = 0; i < 250; i++) assert.equal(recorder.record(event(i)), undefined);
    assert.equal(usage.batches.length, 0);
    assert.equal(recorder.stats.buffered, 250);
    await recorder.flush();
    assert.equal(usage.batches.length, 1);
    assert.deepEqual(usage.written(), routes(0, 250));
    assert.deepEqual(recorder.stats, {
      buffered: 0,
      flushed: 250,
      flushes: 1,
      backpressureWaits: 0,
      flushFailures: 0,
      unpriced: 0,
    });
    await recorder.flush();
    assert.equal(usage.batches.length, 1, 'an empty buffer is not written');
  });

  test('a large buffer is written in batches of maxBatchSize, in order', async () => {
    const usage = fakeUsage();
    const recorder = new UsageRecorder(usage, { flushIntervalMs: 0, maxBatchSize: 100 });
    for (let i = 0; i < 250; i++) recorder.record(event(i));
    await recorder.flush();
    assert.deepEqual(
      usage.batches.map((b) => b.length),
      [100, 100, 50],
    );
    assert.deepEqual(usage.written(), routes(0, 250));
  });

  test('the timer writes the buffer every flushIntervalMs', async () => {
    const usage = fakeUsage();
    const recorder = new UsageRecorder(usage, { flushIntervalMs: 30 });
    try {
      recorder.record(event(0));
      recorder.record(event(1));
      await sleep(5);
      assert.equal(usage.batches.length, 0, 'nothing is written before the interval');
      const deadline = Date.now() + 1000;
      const batches = () => usage.batches.length;
      while (batches() === 0 && Date.now() < deadline) await sleep(5);
      assert.deepEqual(usage.written(), routes(0, 2));
      recorder.record(event(2));
      while (batches() === 1 && Date.now() < deadline) await sleep(5);
      assert.deepEqual(
        usage.batches.map((b) => b.length),
        [2, 1],
      );
    } finally {
      await recorder.close();
    }
  });

  test('a full batch is written at once, the rest waits for the timer', async () => {
    const usage = fakeUsage();
    const recorder = new UsageRecorder(usage, { flushIntervalMs: 60_000, maxBatchSize: 4 });
    try {
      const open = usage.stall();
      for (let i = 0; i < 4; i++) recorder.record(event(i)); // fills the first batch: written
      for (let i = 4; i < 8; i++) recorder.record(event(i)); // fills the second while it waits
      for (let i = 8; i < 10; i++) recorder.record(event(i)); // a partial third
      open();
      const deadline = Date.now() + 1000;
      while (usage.batches.length < 2 && Date.now() < deadline) await sleep(2);
      await sleep(20);
      assert.deepEqual(
        usage.batches.map((b) => b.length),
        [4, 4],
        'full batches are written one after the other; the partial one is not',
      );
      assert.equal(usage.maxActive, 1, 'one write at a time');
      assert.equal(recorder.stats.buffered, 2);
    } finally {
      await recorder.close();
    }
    assert.deepEqual(usage.written(), routes(0, 10));
  });

  test('a failing store is not retried in a loop by full batches', async () => {
    const usage = fakeUsage();
    const errors: unknown[] = [];
    const recorder = new UsageRecorder(usage, {
      flushIntervalMs: 60_000,
      maxBatchSize: 2,
      onFlushError: (error) => errors.push(error),
    });
    usage.fail(new Error('store down'));
    for (let i = 0; i < 6; i++) recorder.record(event(i));
    await sleep(30);
    assert.ok(
      errors.length >= 1 && errors.length <= 3,
      `one try per filled batch (${errors.length})`,
    );
    usage.fail(null);
    await recorder.close();
    assert.deepEqual(usage.written(), routes(0, 6));
  });

  test('close() writes everything, then refuses new events', async () => {
    const usage = fakeUsage();
    const recorder = new UsageRecorder(usage, { flushIntervalMs: 60_000, maxBatchSize: 7 });
    for (let i = 0; i < 20; i++) recorder.record(event(i));
    await recorder.close();
    assert.deepEqual(usage.written(), routes(0, 20));
    assert.equal(recorder.stats.buffered, 0);
    assert.throws(() => recorder.record(event(21)), /closed/);
  });

  test('a failed write keeps the events, in order, and the next tick retries them', async () => {
    const usage = fakeUsage();
    const errors: unknown[] = [];
    const recorder = new UsageRecorder(usage, {
      flushIntervalMs: 20,
      onFlushError: (error) => errors.push(error),
    });
    try {
      usage.fail(new Error('store down'));
      for (let i = 0; i < 5; i++) recorder.record(event(i));
      await assert.rejects(recorder.flush(), /store down/);
      const deadline = Date.now() + 1000;
      while (errors.length < 2 && Date.now() < deadline) await sleep(5);
      assert.ok(errors.length >= 2, 'timed flushes report their failures');
      for (let i = 5; i < 8; i++) recorder.record(event(i));
      assert.equal(recorder.stats.buffered, 8);
      assert.ok(recorder.stats.flushFailures >= 3);
      assert.equal(usage.batches.length, 0);

      usage.fail(null);
      while (recorder.stats.buffered > 0 && Date.now() < deadline) await sleep(5);
      assert.deepEqual(usage.written(), routes(0, 8));
      assert.equal(recorder.stats.flushed, 8);
    } finally {
      await recorder.close();
    }
  });

  test('close() rejects while the store is down and succeeds once it is back', async () => {
    const usage = fakeUsage();
    const recorder = new UsageRecorder(usage, { flushIntervalMs: 0 });
    recorder.record(event(0));
    usage.fail(new Error('store down'));
    await assert.rejects(recorder.close(), /store down/);
    assert.equal(recorder.stats.buffered, 1);
    usage.fail(null);
    await recorder.close();
    assert.deepEqual(usage.written(), routes(0, 1));
  });

  test('writes never overlap, however flushes are called', async () => {
    const usage = fakeUsage();
    const recorder = new UsageRecorder(usage, { flushIntervalMs: 1, maxBatchSize: 3 });
    const flushes: Promise<void>[] = [];
    for (let i = 0; i < 40; i++) {
      recorder.record(event(i));
      if (i % 4 === 0) flushes.push(recorder.flush());
      if (i % 10 === 0) await sleep(2);
    }
    await Promise.all(flushes);
    await recorder.close();
    assert.equal(usage.maxActive, 1);
    assert.deepEqual(usage.written(), routes(0, 40));
  });

  test('flush() resolves only once every event recorded before it is written', async () => {
    const usage = fakeUsage();
    const recorder = new UsageRecorder(usage, { flushIntervalMs: 0, maxBatchSize: 2 });
    recorder.record(event(0));
    const open = usage.stall();
    const first = recorder.flush(); // writing [0], stalled
    recorder.record(event(1));
    recorder.record(event(2));
    let secondDone = false;
    const second = recorder.flush().then(() => {
      secondDone = true;
    });
    await sleep(10);
    assert.equal(secondDone, false);
    open();
    await Promise.all([first, second]);
    assert.deepEqual(usage.written(), routes(0, 3));
  });

  test('back-pressure: a full buffer makes record wait for a flush, and nothing is lost', async () => {
    const store = await openSqliteStore(':memory:');
    try {
      const warnings: number[] = [];
      let release!: () => void;
      let slowWrites = 0;
      // A slow store: the first write is held until the test lets it go.
      const slow = {
        async insertBatch(events: readonly UsageEvent[]) {
          if (slowWrites++ === 0) await new Promise<void>((resolve) => (release = resolve));
          await store.usage.insertBatch(events);
        },
      };
      const recorder = new UsageRecorder(slow, {
        flushIntervalMs: 0,
        maxBuffered: 10,
        onBackpressure: (stats) => warnings.push(stats.buffered),
      });
      for (let i = 0; i < 10; i++) assert.equal(recorder.record(event(i)), undefined);

      const eleventh = recorder.record(event(10));
      assert.ok(eleventh instanceof Promise, 'the 11th record returns a promise');
      let resolved = false;
      void eleventh.then(() => {
        resolved = true;
      });
      const twelfth = recorder.record(event(11));
      assert.ok(twelfth instanceof Promise);
      await sleep(20);
      assert.equal(resolved, false, 'still waiting while the flush is stalled');
      assert.deepEqual(warnings, [11], 'one warning per episode');
      assert.equal(recorder.stats.backpressureWaits, 2);
      assert.equal(recorder.stats.buffered, 12);

      release();
      await Promise.all([eleventh, twelfth]);
      assert.equal(resolved, true);
      assert.equal(recorder.record(event(12)), undefined, 'room again');
      await recorder.close();
      assert.equal(await store.usage.countEvents({}), 13);
      const stored = await store.usage.listEvents({ limit: 100 });
      assert.deepEqual(
        stored.map((e) => e.route),
        routes(0, 13),
      );
      assert.equal(recorder.stats.backpressureWaits, 2);
    } finally {
      await store.close();
    }
  });

  test('a batch writer gets columns: prepared on the first event, retried, closed last', async () => {
    const calls: string[] = [];
    const written: string[] = [];
    let failing = true;
    const writer = {
      prepare: () => calls.push('prepare'),
      async writeBatch(batch: UsageBatch) {
        calls.push(`write ${batch.size}`);
        const routes = usageEventsOf(batch).map((e) => e.route ?? '');
        // Like the SQLite writer, take the arrays away: a retry must come with a fresh copy.
        structuredClone(batch, { transfer: [batch.numbers.buffer, batch.texts.buffer] });
        if (failing) throw new Error('store down');
        written.push(...routes);
      },
      close: async () => {
        calls.push('close');
      },
    };
    const recorder = new UsageRecorder(writer, { flushIntervalMs: 0, maxBatchSize: 2 });
    assert.deepEqual(calls, []);
    for (let i = 0; i < 3; i++) recorder.record(event(i));
    assert.deepEqual(calls, ['prepare'], 'prepared once, on the first event');
    await assert.rejects(recorder.flush(), /store down/);
    failing = false;
    await recorder.close();
    assert.deepEqual(written, routes(0, 3));
    assert.deepEqual(calls, ['prepare', 'write 2', 'write 2', 'write 1', 'close']);
  });

  test('oversized routes and user agents are redacted and cut when recorded', async () => {
    const usage = fakeUsage();
    const recorder = new UsageRecorder(usage, { flushIntervalMs: 0 });
    const key = ['kw', 'prod', 'M7H4jxUDDWHP4kZ6A4dxlQYsQIWJuq0uOupm'].join('_');
    recorder.record(
      event(0, { userAgent: `sdk Bearer ${key} ${'a'.repeat(2000)}`, route: '/short' }),
    );
    await recorder.flush();
    const [stored] = usage.batches.flat();
    assert.equal(stored?.userAgent?.length, 200);
    assert.ok(stored?.userAgent?.startsWith('sdk Bearer kw_prod_…uOupm a'));
    assert.equal(stored?.route, '/short', 'short texts are left for the store to redact');
  });
});
