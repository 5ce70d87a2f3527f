import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { redisNamespace } from '../testing/redis.ts';
import {
  type ChannelHooks,
  closedPort,
  defineChannelSuite,
  eventually,
  startTcpProxy,
} from './channel.suite.ts';
import type { Invalidation } from './index.ts';
import { RedisInvalidationChannel, type RedisInvalidationChannelOptions } from './redis.ts';

// Runs against the real Redis (fails, with how to start it, when there is none). The
// namespace's random prefix makes this file's channel its own: `kwtest:invalidation:<id>:invalidate`.
const ns = await redisNamespace('invalidation');
after(() => ns.cleanup());
const CHANNEL = `${ns.prefix}invalidate`;

const open = (options: RedisInvalidationChannelOptions = {}) =>
  RedisInvalidationChannel.connect({ url: ns.url, prefix: ns.prefix, ...options });

defineChannelSuite('redis', (hooks?: ChannelHooks) => open({ onError: hooks?.onError }), {
  async sendRaw(payload) {
    await ns.client.publish(CHANNEL, payload);
  },
});

const key = (keyId: string): Invalidation => ({ type: 'key', keyId });

/**
 * A node under observation: what it received, when it resynced, and its health at each
 * report (sampled inside the callbacks, so no transition is missed however short).
 */
async function watched(options: RedisInvalidationChannelOptions = {}) {
  let channel: RedisInvalidationChannel | null = null;
  const seen = {
    received: [] as string[],
    resyncs: [] as number[],
    /** `healthy` when the link reported itself lost (must be false) and at each resync (true). */
    healthAtLoss: [] as boolean[],
    healthAtResync: [] as boolean[],
    /** `onLost` reports: how long the link had been silent, and when it was reported. */
    losses: [] as Array<{ silentForMs: number; at: number }>,
    errors: [] as Error[],
  };
  channel = await open({
    ...options,
    onError: (error) => {
      seen.errors.push(error);
      if (/subscriber lost/.test(error.message)) seen.healthAtLoss.push(channel!.healthy);
    },
  });
  const ch = channel;
  ch.subscribe((m) => {
    if (m.type === 'key') seen.received.push(m.keyId);
  });
  ch.onResync(() => {
    seen.resyncs.push(performance.now());
    seen.healthAtResync.push(ch.healthy);
  });
  ch.onLost((silentForMs) => seen.losses.push({ silentForMs, at: performance.now() }));
  return { channel: ch, seen };
}

const kill = async (id: number | null) => {
  assert.ok(id !== null, 'the connection is up');
  const killed = await ns.client.sendCommand(['CLIENT', 'KILL', 'ID', String(id)]);
  assert.equal(killed, 1);
};

describe('redis: configuration', () => {
  test('the channel is <prefix>invalidate, kw:invalidate by default', async () => {
    const channel = new RedisInvalidationChannel({ url: ns.url });
    try {
      assert.equal(channel.channel, 'kw:invalidate');
    } finally {
      await channel.close();
    }
    const mine = await open();
    try {
      assert.equal(mine.channel, CHANNEL);
      const subscribers = await ns.client.sendCommand(['PUBSUB', 'NUMSUB', CHANNEL]);
      assert.deepEqual(subscribers, [CHANNEL, 1]);
      const ids = mine.clientIds;
      assert.ok(ids.publisher !== null && ids.subscriber !== null);
      const list = String(
        await ns.client.sendCommand(['CLIENT', 'LIST', 'ID', String(ids.subscriber)]),
      );
      assert.match(list, /name=keywarden-invalidate-sub /);
      assert.match(list, / sub=1 /);
    } finally {
      await mine.close();
    }
  });

  test('invalid options are refused', () => {
    assert.throws(() => new RedisInvalidationChannel({ heartbeatIntervalMs: 0 }), RangeError);
    assert.throws(() => new RedisInvalidationChannel({ retryForMs: -1 }), RangeError);
  });

  test('heartbeats (PING every 2 ms) interleaved with traffic disturb nothing', async () => {
    const a = await open();
    const { channel: b, seen } = await watched({
      heartbeatIntervalMs: 2,
      heartbeatTimeoutMs: 1000,
    });
    try {
      for (let i = 0; i < 300; i++) {
        await a.publish(key(`hb-${i}`));
        if (i % 50 === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await eventually(() => seen.received.length === 300, 'all 300 arrive');
      assert.deepEqual(
        seen.received,
        Array.from({ length: 300 }, (_, i) => `hb-${i}`),
      );
      assert.deepEqual(seen.errors, []);
      assert.equal(seen.resyncs.length, 0);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('redis: disconnects and reconnects', () => {
  const proxied = async () => {
    const target = new URL(ns.url);
    const proxy = await startTcpProxy(target);
    return { proxy, url: `redis://127.0.0.1:${proxy.port}` };
  };

  test('the subscriber connection is killed: healthy goes false then true, onResync fires, messages flow again', async (t) => {
    const a = await open();
    const { channel: b, seen } = await watched();
    try {
      const started = performance.now();
      await kill(b.clientIds.subscriber);
      await eventually(() => seen.resyncs.length === 1, 'onResync fires');
      const resyncMs = seen.resyncs[0]! - started;
      assert.deepEqual(seen.healthAtLoss, [false]);
      assert.deepEqual(seen.healthAtResync, [true]);
      assert.equal(b.healthy, true);
      t.diagnostic(
        `redis: CLIENT KILL of the subscriber → resubscribed and resynced in ${resyncMs.toFixed(1)} ms`,
      );
      assert.ok(resyncMs < 2000, `${resyncMs} ms`);
      await a.publish(key('after-kill'));
      await eventually(() => seen.received.includes('after-kill'), 'messages flow again');
      assert.deepEqual(seen.received, ['after-kill']);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('killed again and again: each reconnect resyncs once', async () => {
    const a = await open();
    const { channel: b, seen } = await watched();
    try {
      for (let i = 1; i <= 3; i++) {
        await kill(b.clientIds.subscriber);
        await eventually(() => seen.resyncs.length === i && b.healthy, `resync ${i}`);
      }
      assert.deepEqual(seen.healthAtLoss, [false, false, false]);
      await a.publish(key('after-three'));
      await eventually(() => seen.received.includes('after-three'), 'messages flow again');
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('the publisher connection is killed: a publish meanwhile applies locally at once and reaches the others after the reconnect', async () => {
    const { channel: a, seen: seenA } = await watched();
    const { channel: b, seen: seenB } = await watched();
    try {
      await kill(a.clientIds.publisher);
      await a.publish(key('while-down'));
      assert.deepEqual(seenA.received, ['while-down']);
      await eventually(() => seenB.received.includes('while-down'), 'B receives it after all');
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(seenB.received, ['while-down']);
      assert.deepEqual(seenA.received, ['while-down']);
      await eventually(() => a.pendingPublishes === 0, 'the outbox is empty');
      // A's subscriber never went down: no resync there.
      assert.equal(seenA.resyncs.length, 0);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('Redis unreachable while publishing: local at once, publish resolves fast, the outbox reaches the others later', async () => {
    const { proxy, url } = await proxied();
    const { channel: a, seen: seenA } = await watched({ url, maxReconnectDelayMs: 100 });
    const { channel: b, seen: seenB } = await watched();
    try {
      proxy.refuse();
      await eventually(() => !a.healthy, 'A notices');
      const started = performance.now();
      await a.publish(key('during-outage'));
      assert.ok(performance.now() - started < 100, 'publish does not wait for Redis');
      assert.deepEqual(seenA.received, ['during-outage']);
      assert.equal(a.pendingPublishes, 1);
      assert.ok(seenA.errors.some((e) => /queued/.test(e.message)));
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.deepEqual(seenB.received, []);
      proxy.accept();
      await eventually(() => a.healthy && seenB.received.includes('during-outage'), 'sent later');
      await eventually(() => a.pendingPublishes === 0, 'the outbox is empty');
      assert.deepEqual(seenA.healthAtResync, [true], 'A resynced once, after its outage');
      assert.deepEqual(seenA.received, ['during-outage'], 'no second local delivery');
    } finally {
      await a.close();
      await b.close();
      await proxy.close();
    }
  });

  test('a silent link (open, nothing comes back) is found by the heartbeat and replaced', async (t) => {
    const { proxy, url } = await proxied();
    const { channel: b, seen } = await watched({
      url,
      heartbeatIntervalMs: 100,
      heartbeatTimeoutMs: 200,
    });
    const a = await open();
    try {
      const started = performance.now();
      proxy.freeze();
      await a.publish(key('lost-in-the-freeze'));
      await eventually(() => seen.resyncs.length === 1 && b.healthy, 'replaced and resynced');
      const ms = seen.resyncs[0]! - started;
      t.diagnostic(
        `redis: a frozen link was detected, replaced and resynced in ${ms.toFixed(0)} ms`,
      );
      assert.ok(ms < 1500, `${ms} ms`);
      assert.deepEqual(seen.healthAtLoss, [false]);
      assert.ok(seen.errors.some((e) => /heartbeat/.test(e.message)));
      // onLost, once, reaching back to before the freeze (the last answered heartbeat), not
      // to the moment the silence was noticed.
      assert.equal(seen.losses.length, 1);
      const { silentForMs, at } = seen.losses[0]!;
      assert.ok(
        at - silentForMs <= started,
        `silent since ${(at - silentForMs - started).toFixed(0)} ms after the freeze`,
      );
      assert.ok(silentForMs < 1500, `${silentForMs} ms`);
      // The message sent into the freeze is lost: the resync is what covers it.
      await a.publish(key('after-freeze'));
      await eventually(() => seen.received.includes('after-freeze'), 'messages flow again');
    } finally {
      await a.close();
      await b.close();
      await proxy.close();
    }
  });

  test('reconnect attempts back off, bounded by maxReconnectDelayMs; close() stops them', async () => {
    const { proxy, url } = await proxied();
    const b = await open({ url, maxReconnectDelayMs: 200 });
    try {
      proxy.refuse();
      const before = proxy.accepted;
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const attempts = proxy.accepted - before;
      // Two links, each: at once, then 50, 100, 200 ms, then every ≤ 200 ms: about 16 in
      // 1.5 s; a busy loop would be thousands. The lower bound only says it keeps trying: a
      // loaded machine (two suites beside each other) delays timers, and 9 were seen there.
      assert.ok(attempts >= 4 && attempts <= 60, `${attempts} attempts`);
      await b.close();
      // A connection already under way when close() ran may still land; nothing after it.
      await new Promise((resolve) => setTimeout(resolve, 100));
      const closedAt = proxy.accepted;
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.equal(proxy.accepted, closedAt, 'no attempt after close()');
      assert.equal(b.healthy, false);
    } finally {
      await b.close();
      await proxy.close();
    }
  });

  test('Redis unreachable at start: connect rejects within its timeout, saying why', async () => {
    const started = performance.now();
    await assert.rejects(
      RedisInvalidationChannel.connect(
        { url: `redis://127.0.0.1:${await closedPort()}`, prefix: ns.prefix },
        500,
      ),
      /not connected within 500 ms: .*ECONNREFUSED/,
    );
    assert.ok(performance.now() - started < 1500);
  });
});
