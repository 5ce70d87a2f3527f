import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import { useTestDatabase } from '../testing/postgres.ts';
import {
  type ChannelHooks,
  closedPort,
  defineChannelSuite,
  eventually,
  startTcpProxy,
} from './channel.suite.ts';
import type { Invalidation } from './index.ts';
import {
  PostgresInvalidationChannel,
  type PostgresInvalidationChannelOptions,
} from './postgres.ts';

// Runs against the real PostgreSQL (fails, saying so, when there is none). NOTIFY is per
// database, and this file has a database of its own; the channel name is unique as well.
const db = await useTestDatabase({ icuLocale: null });
const CHANNEL = `kw_inv_test_${randomBytes(4).toString('hex')}`;

const admin = new pg.Client({ connectionString: db.url });
admin.on('error', () => {});
await admin.connect();
after(() => admin.end());

const open = (options: Partial<PostgresInvalidationChannelOptions> = {}) =>
  PostgresInvalidationChannel.connect({ url: db.url, channel: CHANNEL, ...options });

defineChannelSuite('postgres', (hooks?: ChannelHooks) => open({ onError: hooks?.onError }), {
  async sendRaw(payload) {
    await admin.query('select pg_notify($1, $2)', [CHANNEL, payload]);
  },
});

const key = (keyId: string): Invalidation => ({ type: 'key', keyId });

/**
 * A node under observation: what it received, when it resynced, and its health at each
 * report (sampled inside the callbacks, so no transition is missed however short).
 */
async function watched(options: Partial<PostgresInvalidationChannelOptions> = {}) {
  let channel: PostgresInvalidationChannel | null = null;
  const seen = {
    received: [] as string[],
    resyncs: [] as number[],
    healthAtLoss: [] as boolean[],
    healthAtResync: [] as boolean[],
    errors: [] as Error[],
  };
  channel = await open({
    ...options,
    onError: (error) => {
      seen.errors.push(error);
      if (/listener .*lost/.test(error.message)) seen.healthAtLoss.push(channel!.healthy);
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
  return { channel: ch, seen };
}

const terminate = async (pid: number | null) => {
  assert.ok(pid !== null, 'the listener is up');
  const result = await admin.query<{ done: boolean }>('select pg_terminate_backend($1) as done', [
    pid,
  ]);
  assert.equal(result.rows[0]?.done, true);
};

describe('postgres: configuration', () => {
  test('the listener is a dedicated session that LISTENs on the channel', async () => {
    const channel = await open({ heartbeatIntervalMs: 60_000 });
    try {
      assert.equal(channel.channel, CHANNEL);
      const pid = channel.listenerPid;
      assert.ok(pid !== null);
      const row = await admin.query<{ application_name: string; datname: string; query: string }>(
        'select application_name, datname, query from pg_stat_activity where pid = $1',
        [pid],
      );
      assert.equal(row.rows[0]?.application_name, 'keywarden-invalidate');
      assert.equal(row.rows[0]?.datname, db.name);
      assert.match(row.rows[0]?.query ?? '', new RegExp(`^listen "${CHANNEL}"`));
    } finally {
      await channel.close();
    }
  });

  test('the channel name must fit an identifier; case and odd characters are kept exactly', async () => {
    assert.throws(() => new PostgresInvalidationChannel({ url: db.url, channel: '' }), RangeError);
    assert.throws(
      () => new PostgresInvalidationChannel({ url: db.url, channel: 'x'.repeat(64) }),
      RangeError,
    );
    const odd = `Kw "Inv" ${randomBytes(3).toString('hex')}`;
    const a = await open({ channel: odd });
    const b = await open({ channel: odd });
    const other = await open({ channel: odd.toLowerCase() });
    const got: string[] = [];
    const gotOther: string[] = [];
    b.subscribe((m) => got.push(m.type));
    other.subscribe((m) => gotOther.push(m.type));
    try {
      await a.publish(key('k'));
      await eventually(() => got.length === 1, 'delivered on the exact name');
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(gotOther, []);
    } finally {
      await Promise.all([a.close(), b.close(), other.close()]);
    }
  });

  test('heartbeats (select 1 every 2 ms) interleaved with traffic disturb nothing', async () => {
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

describe('postgres: disconnects and reconnects', () => {
  const proxied = async () => {
    const target = new URL(db.url);
    const proxy = await startTcpProxy(target);
    const url = new URL(db.url);
    url.host = `127.0.0.1:${proxy.port}`;
    return { proxy, url: url.toString() };
  };

  test('the listener backend is terminated: healthy goes false then true, onResync fires, messages flow again', async (t) => {
    const a = await open();
    const { channel: b, seen } = await watched();
    try {
      const pid = b.listenerPid;
      const started = performance.now();
      await terminate(pid);
      await eventually(() => seen.resyncs.length === 1, 'onResync fires');
      const resyncMs = seen.resyncs[0]! - started;
      assert.deepEqual(seen.healthAtLoss, [false]);
      assert.deepEqual(seen.healthAtResync, [true]);
      assert.equal(b.healthy, true);
      assert.notEqual(b.listenerPid, pid);
      t.diagnostic(
        `postgres: pg_terminate_backend of the listener → listening and resynced in ${resyncMs.toFixed(1)} ms`,
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

  test('every listening session of this database terminated at once (the LISTEN query): all resync', async () => {
    const a = await open();
    const { channel: b, seen } = await watched();
    try {
      // What an operator would type. The heartbeat (`select 1`) may be the last query of a
      // listener, so match on the application name too.
      const killed = await admin.query<{ done: boolean }>(
        `select pg_terminate_backend(pid) as done from pg_stat_activity
          where datname = current_database() and pid <> pg_backend_pid()
            and (query ilike 'listen%' or application_name = 'keywarden-invalidate')`,
      );
      assert.ok(killed.rows.length >= 2);
      await eventually(() => seen.resyncs.length === 1 && a.healthy && b.healthy, 'both back');
      await a.publish(key('after-mass-kill'));
      await eventually(() => seen.received.includes('after-mass-kill'), 'messages flow again');
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
        await terminate(b.listenerPid);
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

  test('PostgreSQL unreachable while publishing: local at once, the outbox reaches the others later', async () => {
    const { proxy, url } = await proxied();
    const { channel: a, seen: seenA } = await watched({ url, maxReconnectDelayMs: 100 });
    const { channel: b, seen: seenB } = await watched();
    try {
      proxy.refuse();
      await eventually(() => !a.healthy, 'A notices');
      await a.publish(key('during-outage'));
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
        `postgres: a frozen link was detected, replaced and resynced in ${ms.toFixed(0)} ms`,
      );
      assert.ok(ms < 1500, `${ms} ms`);
      assert.deepEqual(seen.healthAtLoss, [false]);
      assert.ok(seen.errors.some((e) => /heartbeat/.test(e.message)));
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
      // One listener: at once, then 50, 100, 200 ms, then every ≤ 200 ms: about 9 in 1.5 s.
      assert.ok(attempts >= 5 && attempts <= 30, `${attempts} attempts`);
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

  test('PostgreSQL unreachable at start: connect rejects within its timeout, saying why', async () => {
    const url = new URL(db.url);
    url.host = `127.0.0.1:${await closedPort()}`;
    const started = performance.now();
    await assert.rejects(
      PostgresInvalidationChannel.connect({ url: url.toString() }, 500),
      /not connected within 500 ms: .*ECONNREFUSED/,
    );
    assert.ok(performance.now() - started < 1500);
  });
});
