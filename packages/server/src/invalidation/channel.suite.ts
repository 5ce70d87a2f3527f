import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { afterEach, describe, test } from 'node:test';
import { encodeWire, type Invalidation, type InvalidationChannel } from './index.ts';

/**
 * The contract every cluster invalidation channel must pass, unchanged. Each channel made by
 * `makeChannel` is one node; all of a suite's channels share one wire (a Redis channel, a
 * NOTIFY channel in one database), which must be unique to the test file so that files running
 * in parallel never see each other's messages. `wire.sendRaw` puts a payload on that wire as
 * a foreign publisher would (for the malformed-message cases).
 */
export interface ChannelHooks {
  onError?: (error: Error) => void;
}

export interface ChannelWire {
  sendRaw(payload: string): Promise<void>;
}

/** What the latency case measured, for the backend's test file (and README.md) to report. */
export interface LatencyReport {
  samples: number;
  p50: number;
  p99: number;
  max: number;
}

export const latencyReports = new Map<string, LatencyReport>();

/** Polls `check` every 5 ms until it holds; fails with `what` after `ms`. */
export async function eventually(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!check()) {
    if (performance.now() > deadline) assert.fail(`not within ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

interface Node {
  channel: InvalidationChannel;
  received: Invalidation[];
  resyncs: number;
  errors: Error[];
}

export function defineChannelSuite(
  backend: string,
  makeChannel: (hooks?: ChannelHooks) => Promise<InvalidationChannel>,
  wire: ChannelWire,
): void {
  describe(`invalidation channel contract: ${backend}`, () => {
    const open: InvalidationChannel[] = [];
    afterEach(async () => {
      await Promise.all(open.splice(0).map((channel) => channel.close()));
    });

    const node = async (): Promise<Node> => {
      const errors: Error[] = [];
      const channel = await makeChannel({ onError: (error) => errors.push(error) });
      open.push(channel);
      const n: Node = { channel, received: [], resyncs: 0, errors };
      channel.subscribe((message) => n.received.push(message));
      channel.onResync?.(() => n.resyncs++);
      return n;
    };
    const nodes = (count: number) => Promise.all(Array.from({ length: count }, node));
    /** Every test's ids are unique, so nothing left over from another test can be counted. */
    const run = () => randomUUID().slice(0, 8);
    const keyMsg = (id: string): Invalidation => ({ type: 'key', keyId: id });
    const count = (n: Node, keyId: string) =>
      n.received.filter((m) => m.type === 'key' && m.keyId === keyId).length;
    /**
     * Waits until `from`'s marker has reached every node. The server delivers in publish
     * order, so anything published before the marker (echoes included) has arrived by then.
     */
    const barrier = async (from: Node, all: Node[]) => {
      const marker = `barrier-${run()}`;
      await from.channel.publish(keyMsg(marker));
      await eventually(() => all.every((n) => count(n, marker) === 1), 'the barrier arrives');
    };

    test('healthy once connected, with the onResync extension', async () => {
      const [a] = await nodes(1);
      assert.equal(a!.channel.healthy, true);
      assert.equal(typeof a!.channel.onResync, 'function');
    });

    test('a message published on A reaches B and C once each, and A’s own listener exactly once', async () => {
      const all = await nodes(3);
      const [a, b, c] = all as [Node, Node, Node];
      const id = `k-${run()}`;
      await a.channel.publish(keyMsg(id));
      // Local delivery does not wait for the server.
      assert.equal(count(a, id), 1);
      await eventually(() => count(b, id) === 1 && count(c, id) === 1, 'B and C receive it');
      // After C's marker has come back to A, A's own echo has come too: it was skipped.
      await barrier(c, all);
      for (const n of all) assert.equal(count(n, id), 1);
      for (const n of all) assert.deepEqual(n.errors, []);
    });

    test('local delivery happens before publish returns its promise', async () => {
      const [a] = await nodes(1);
      const id = `k-${run()}`;
      const publishing = a!.channel.publish(keyMsg(id));
      assert.equal(count(a!, id), 1);
      await publishing;
    });

    test('every message type round-trips unchanged', async () => {
      const [a, b] = (await nodes(2)) as [Node, Node];
      const r = run();
      const messages: Invalidation[] = [
        { type: 'key', keyId: `k1-${r}` },
        { type: 'key', keyId: `k2-${r}`, creditsChanged: true },
        { type: 'key', keyId: `k3-${r}`, creditsChanged: false },
        { type: 'key', keyId: `k4-${r}`, revision: 42 },
        { type: 'key', keyId: `k5-${r}`, creditsChanged: true, revision: 0 },
        { type: 'owner', ownerId: `o1-${r}` },
        { type: 'owner', ownerId: `o2-${r}`, creditsChanged: true },
        { type: 'key-created', hash: `h-${r}-${'ab'.repeat(32)}` },
        { type: 'project', projectId: `p-${r}` },
        { type: 'upstream', upstreamId: `u-${r}`, name: `openai-${r}` },
        // Ids are opaque: quotes, unicode and JSON-looking text survive.
        { type: 'key', keyId: `"\\ ü 🔑 {"type":"x"} ${r}` },
      ];
      for (const message of messages) await a.channel.publish(message);
      await eventually(() => b.received.length === messages.length, 'all arrive');
      assert.deepEqual(b.received, messages);
      assert.deepEqual(a.received, messages);
    });

    test('malformed messages on the wire are ignored and reported, never thrown', async () => {
      const [a, b] = (await nodes(2)) as [Node, Node];
      const stranger = randomUUID();
      const r = run();
      const malformed = [
        '',
        'not json',
        '{"v":1,',
        'null',
        '42',
        '"a string"',
        '[]',
        '{}',
        JSON.stringify({ v: 1, m: keyMsg('no sender') }),
        JSON.stringify({ from: stranger, m: keyMsg('no version') }),
        JSON.stringify({ v: 0, from: stranger, m: keyMsg('version 0') }),
        JSON.stringify({ v: '1', from: stranger, m: keyMsg('version as text') }),
        JSON.stringify({ v: 1, from: stranger }),
        JSON.stringify({ v: 1, from: stranger, m: [] }),
        JSON.stringify({ v: 1, from: stranger, m: { keyId: 'no type' } }),
        JSON.stringify({ v: 1, from: stranger, m: { type: 'key' } }),
        JSON.stringify({ v: 1, from: stranger, m: { type: 'key', keyId: 7 } }),
        JSON.stringify({ v: 1, from: stranger, m: { type: 'key', keyId: '' } }),
        JSON.stringify({ v: 1, from: stranger, m: { type: 'key', keyId: 'x', creditsChanged: 1 } }),
        JSON.stringify({ v: 1, from: stranger, m: { type: 'key', keyId: 'x', revision: -1 } }),
        JSON.stringify({ v: 1, from: stranger, m: { type: 'key', keyId: 'x', revision: 1.5 } }),
        JSON.stringify({ v: 1, from: stranger, m: { type: 'key', keyId: 'x', revision: '3' } }),
        JSON.stringify({ v: 1, from: stranger, m: { type: 'owner', ownerId: null } }),
        JSON.stringify({ v: 1, from: stranger, m: { type: 'key-created', hash: {} } }),
        JSON.stringify({ v: 1, from: stranger, m: { type: 'project' } }),
        JSON.stringify({ v: 1, from: stranger, m: { type: 'upstream', upstreamId: 'u' } }),
        JSON.stringify({ v: 1, from: stranger, m: { type: 7 } }),
      ];
      for (const payload of malformed) await wire.sendRaw(payload);
      // A well-formed message from a foreign publisher, with an extra field (dropped).
      const valid = { v: 1, from: stranger, m: { type: 'key', keyId: `ok-${r}`, extra: 'x' } };
      await wire.sendRaw(JSON.stringify(valid));
      await eventually(() => b.received.length === 1 && a.received.length === 1, 'the valid one');
      assert.deepEqual(b.received, [{ type: 'key', keyId: `ok-${r}` }]);
      assert.equal(b.errors.length, malformed.length);
      assert.equal(a.errors.length, malformed.length);
      assert.match(b.errors[0]!.message, /malformed/);
      assert.equal(b.resyncs, 0);
      assert.equal(b.channel.healthy, true);
      // Still working afterwards.
      await a.channel.publish(keyMsg(`after-${r}`));
      await eventually(() => count(b, `after-${r}`) === 1, 'later messages still arrive');
    });

    test('a message of a newer build (unknown type or version) resyncs instead of being ignored', async () => {
      const [, b] = (await nodes(2)) as [Node, Node];
      const stranger = randomUUID();
      await wire.sendRaw(
        JSON.stringify({ v: 1, from: stranger, m: { type: 'identity', id: 'i' } }),
      );
      await eventually(() => b.resyncs === 1, 'an unknown type resyncs');
      await wire.sendRaw(JSON.stringify({ v: 2, from: stranger, anything: true }));
      await eventually(() => b.resyncs === 2, 'a newer envelope resyncs');
      assert.equal(b.received.length, 0);
      assert.equal(b.errors.length, 2);
    });

    test('a message from this node coming back is skipped, one from another node with the same content is not', async () => {
      const [a, b] = (await nodes(2)) as [Node, Node];
      const id = `k-${run()}`;
      // The same bytes another publisher with another id would send.
      await wire.sendRaw(encodeWire(randomUUID(), keyMsg(id)));
      await eventually(() => count(a, id) === 1 && count(b, id) === 1, 'a foreign copy arrives');
    });

    test('publish refuses what is not an invalidation, or too large, before delivering anything', async () => {
      const [a, b] = (await nodes(2)) as [Node, Node];
      const bad = [
        null,
        { type: 'key' },
        { type: 'key', keyId: 5 },
        { type: 'nope', keyId: 'x' },
        { type: 'owner', ownerId: 'o', creditsChanged: 'yes' },
      ];
      for (const message of bad) {
        await assert.rejects(a.channel.publish(message as unknown as Invalidation), TypeError);
      }
      // NOTIFY payloads must be shorter than 8000 bytes; both backends keep that limit.
      await assert.rejects(a.channel.publish(keyMsg('k'.repeat(8000))), RangeError);
      await assert.rejects(a.channel.publish(keyMsg('ü'.repeat(4000))), RangeError);
      const big = keyMsg(`big-${'k'.repeat(7000)}`);
      await a.channel.publish(big);
      await barrier(a, [a, b]);
      assert.equal(a.received.length, 2);
      assert.deepEqual(b.received[0], big);
    });

    test('100 sequential publishes all arrive, in order', async () => {
      const [a, b, c] = (await nodes(3)) as [Node, Node, Node];
      const r = run();
      const ids = Array.from({ length: 100 }, (_, i) => `seq-${r}-${i}`);
      for (const id of ids) await a.channel.publish(keyMsg(id));
      const got = (n: Node) => n.received.map((m) => (m.type === 'key' ? m.keyId : ''));
      await eventually(() => b.received.length === 100 && c.received.length === 100, 'all 100');
      assert.deepEqual(got(b), ids);
      assert.deepEqual(got(c), ids);
      assert.deepEqual(got(a), ids);
    });

    test('three nodes publishing at once: every node gets every message once', async () => {
      const all = (await nodes(3)) as [Node, Node, Node];
      const r = run();
      await Promise.all(
        all.flatMap((n, i) =>
          Array.from({ length: 50 }, (_, j) => n.channel.publish(keyMsg(`c-${r}-${i}-${j}`))),
        ),
      );
      await eventually(() => all.every((n) => n.received.length === 150), '150 on each node');
      for (const n of all) {
        assert.equal(new Set(n.received.map((m) => JSON.stringify(m))).size, 150);
        assert.deepEqual(n.errors, []);
      }
    });

    test('latency: 200 publishes from A to B, p99 within 250 ms', async (t) => {
      const [a, b] = (await nodes(2)) as [Node, Node];
      const r = run();
      const arrived = new Map<string, number>();
      b.channel.subscribe((m) => {
        if (m.type === 'key') arrived.set(m.keyId, performance.now());
      });
      // Warm up the connections and the JIT.
      for (let i = 0; i < 20; i++) await a.channel.publish(keyMsg(`warm-${r}-${i}`));
      await eventually(() => arrived.size === 20, 'the warm-up arrives');
      const samples: number[] = [];
      for (let i = 0; i < 200; i++) {
        const id = `lat-${r}-${i}`;
        const started = performance.now();
        await a.channel.publish(keyMsg(id));
        await eventually(() => arrived.has(id), `message ${i} arrives`, 2000);
        samples.push(arrived.get(id)! - started);
      }
      samples.sort((x, y) => x - y);
      const report: LatencyReport = {
        samples: samples.length,
        p50: percentile(samples, 50),
        p99: percentile(samples, 99),
        max: samples[samples.length - 1]!,
      };
      latencyReports.set(backend, report);
      t.diagnostic(
        `${backend}: publish → applied on another node, ${report.samples} messages: ` +
          `p50 ${report.p50.toFixed(2)} ms, p99 ${report.p99.toFixed(2)} ms, max ${report.max.toFixed(2)} ms`,
      );
      assert.ok(report.p99 <= 250, `p99 ${report.p99} ms`);
    });

    test('close(): unhealthy, nothing delivered after it, idempotent', async () => {
      const [a, b] = (await nodes(2)) as [Node, Node];
      const id = `k-${run()}`;
      await b.channel.close();
      await b.channel.close();
      assert.equal(b.channel.healthy, false);
      await a.channel.publish(keyMsg(id));
      await barrier(a, [a]);
      assert.equal(count(b, id), 0);
      // A publish after close delivers nothing and does not throw.
      await b.channel.publish(keyMsg(id));
      assert.equal(count(b, id), 0);
    });
  });
}

/** The shared fault proxy (testing/tcp-proxy.ts). */
export { startTcpProxy, type TcpProxy } from '../testing/tcp-proxy.ts';

export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  await new Promise((resolve) => server.close(resolve));
  return address.port;
}
