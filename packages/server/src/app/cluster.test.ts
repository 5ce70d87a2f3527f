import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CLI_ACTOR } from '../audit/index.ts';
import { loadConfig } from '../config/index.ts';
import { type ClusterNode, clusterSecrets, startNode, startNodes } from '../testing/cluster.ts';
import { createTestDatabase, type TestDatabase } from '../testing/postgres.ts';
import { type RedisNamespace, redisNamespace } from '../testing/redis.ts';
import { startTcpProxy } from '../testing/tcp-proxy.ts';
import { openKeywarden } from './index.ts';

/**
 * Three keywarden processes on one PostgreSQL and one Redis, each reached through a TCP
 * proxy the test can cut: revocation reaching every node, limits that hold across nodes,
 * and the documented fault policies observed for real.
 */
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
};

describe('three nodes on one PostgreSQL and one Redis', { timeout: 180_000 }, () => {
  let db: TestDatabase;
  let ns: RedisNamespace;
  let pgProxy: Awaited<ReturnType<typeof startTcpProxy>>;
  let redisProxy: Awaited<ReturnType<typeof startTcpProxy>>;
  let nodes: ClusterNode[] = [];
  let env: Record<string, string>;
  let adminKey = '';

  before(async () => {
    db = await createTestDatabase();
    ns = await redisNamespace('cluster');
    pgProxy = await startTcpProxy(new URL(db.url));
    redisProxy = await startTcpProxy(new URL(ns.url));
    const databaseUrl = new URL(db.url);
    databaseUrl.port = String(pgProxy.port);
    env = {
      ...clusterSecrets(),
      KEYWARDEN_DATABASE_URL: databaseUrl.toString(),
      KEYWARDEN_REDIS_URL: `redis://127.0.0.1:${redisProxy.port}`,
      KEYWARDEN_REDIS_PREFIX: ns.prefix,
      KEYWARDEN_EXPECTED_NODES: '3',
      // Exactness is asserted with Redis up: on an overloaded CI machine a slow answer must not
      // count as Redis down (the failover has its own test, with Redis refusing connections).
      KEYWARDEN_RATELIMIT_REDIS_TIMEOUT_MS: '10000',
      KEYWARDEN_STALE_IF_ERROR_MS: '120000',
    };
    const setup = await openKeywarden(loadConfig(env), { env });
    adminKey = (
      await setup.keys.create({ name: 'cluster admin', scopes: ['admin'] }, CLI_ACTOR, 'management')
    ).plaintext;
    await setup.close();
    nodes = await startNodes(['a', 'b', 'c'].map((name) => () => startNode(name, env)));
  });

  after(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await pgProxy?.close();
    await redisProxy?.close();
    await ns?.cleanup();
    await db?.drop();
  });

  const manage = async (node: ClusterNode, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${node.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${adminKey}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    assert.ok(res.ok, `${method} ${path} on ${node.name}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  };
  const auth = (node: ClusterNode, key: string) =>
    fetch(`${node.url}/v1/auth`, { headers: { 'x-api-key': key } }).then((r) => {
      void r.arrayBuffer();
      return r.status;
    });

  test('a key revoked on node A is rejected by B and C through the channel: 100 revocations', async (t) => {
    const [a, b, c] = nodes as [ClusterNode, ClusterNode, ClusterNode];
    const delays: number[] = [];
    for (let i = 0; i < 100; i++) {
      const created = await manage(a, 'POST', '/v1/keys', { name: `rev ${i}` });
      assert.equal(await auth(b, created.key), 200);
      assert.equal(await auth(c, created.key), 200);
      const started = performance.now();
      await manage(a, 'POST', `/v1/keys/${created.id}/revoke`);
      await Promise.all(
        [b, c].map(async (node) => {
          for (;;) {
            const status = await auth(node, created.key);
            if (status === 401) break;
            assert.ok(
              performance.now() - started < 5000,
              `${node.name} still accepts a revoked key after 5 s`,
            );
          }
          delays.push(performance.now() - started);
        }),
      );
    }
    const p50 = percentile(delays, 50);
    const p99 = percentile(delays, 99);
    t.diagnostic(
      `revocation reached the other nodes: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${Math.max(...delays).toFixed(1)} ms (n=${delays.length}, from the revoke request)`,
    );
    // How fast is the bench's to say (`npm run bench -- --only cluster`: target p99 ≤ 50 ms);
    // the test holds what must never fail: every revocation reached both nodes well inside
    // the 30 s cache age (asserted per revocation above), so through the channel.
    assert.equal(delays.length, 200);
  });

  test('one key limited to 100 per minute, 1,000 concurrent requests over three nodes: exactly 100 admitted', async () => {
    const created = await manage(nodes[0]!, 'POST', '/v1/keys', {
      name: 'limited',
      ratelimits: [{ name: 'requests', limit: 100, windowSeconds: 60 }],
    });
    const started = performance.now();
    const statuses = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => auth(nodes[i % 3]!, created.key)),
    );
    const elapsed = performance.now() - started;
    // GCRA gives back one request per emission interval (60 s / 100 = 600 ms). A burst that
    // ends within it admits exactly 100; a slower one (a loaded CI machine) rightly one more
    // per 600 ms, and never anything beyond that.
    const allowed = 100 + Math.floor(elapsed / 600);
    const admitted = statuses.filter((s) => s === 200).length;
    const failedOver = nodes.filter((n) => /Redis does not answer/.test(n.logs())).length;
    assert.ok(
      admitted >= 100 && admitted <= allowed,
      `${admitted} admitted in ${Math.round(elapsed)} ms (at most ${allowed}; ${failedOver} node(s) failed over)`,
    );
    assert.equal(statuses.filter((s) => s === 429).length, 1000 - admitted);
    if (elapsed < 600) assert.equal(admitted, 100);
  });

  test('Redis down: no 5xx, each node enforces its share of the limit; Redis back: shared again', async () => {
    const created = await manage(nodes[0]!, 'POST', '/v1/keys', {
      name: 'redis-down',
      ratelimits: [{ name: 'requests', limit: 30, windowSeconds: 3600 }],
    });
    redisProxy.refuse();
    try {
      const statuses = await Promise.all(
        Array.from({ length: 90 }, (_, i) => auth(nodes[i % 3]!, created.key)),
      );
      assert.equal(statuses.filter((s) => s >= 500).length, 0, 'no 5xx storm');
      const admitted = statuses.filter((s) => s === 200).length;
      assert.ok(
        admitted > 0 && admitted <= 30,
        `each node admits at most 30/3 = 10: ${admitted} in all`,
      );
      // Log lines travel through a pipe: give them a moment to arrive.
      const degradedLogged = () =>
        nodes.every((n) =>
          /Redis does not answer: rate limits now enforced per node at 1\/3/.test(n.logs()),
        );
      const until = Date.now() + 3000;
      while (!degradedLogged() && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      assert.ok(degradedLogged(), 'every node says in its log which policy it applies');
    } finally {
      redisProxy.accept();
    }
    const deadline = Date.now() + 15_000;
    while (!nodes.every((n) => /Redis answers again/.test(n.logs()))) {
      assert.ok(Date.now() < deadline, 'every node went back to the shared limiter within 15 s');
      await Promise.all(nodes.map((n) => auth(n, created.key)));
      await new Promise((r) => setTimeout(r, 200));
    }
  });

  test('PostgreSQL down: cached keys verify, unknown ones get 503, /readyz says so, no usage event is lost', async () => {
    const created = await manage(nodes[0]!, 'POST', '/v1/keys', { name: 'pg-down' });
    for (const node of nodes) assert.equal(await auth(node, created.key), 200);
    const unknown = await manage(nodes[0]!, 'POST', '/v1/keys', { name: 'never-seen' });
    pgProxy.refuse();
    let during = 0;
    try {
      for (let i = 0; i < 30; i++) {
        assert.equal(await auth(nodes[i % 3]!, created.key), 200, 'a cached key keeps verifying');
        during++;
      }
      assert.equal(
        await auth(nodes[1]!, unknown.key),
        503,
        'an uncached key: 503, not a guess and not a 500',
      );
      const ready = await fetch(`${nodes[2]!.url}/readyz`);
      assert.equal(ready.status, 503);
    } finally {
      pgProxy.accept();
    }
    const deadline = Date.now() + 20_000;
    for (;;) {
      const ready = await Promise.all(
        nodes.map((n) => fetch(`${n.url}/readyz`).then((r) => r.status)),
      );
      if (ready.every((s) => s === 200)) break;
      assert.ok(Date.now() < deadline, 'every node is ready again within 20 s');
      await new Promise((r) => setTimeout(r, 250));
    }
    // Verification reads the store again once its breaker's backoff is over (at most 1 s
    // after the store is back; docs/deployment.md): until then an uncached key gets 503.
    const recovery = Date.now() + 3000;
    let status = await auth(nodes[1]!, unknown.key);
    while (status === 503 && Date.now() < recovery) {
      await new Promise((r) => setTimeout(r, 100));
      status = await auth(nodes[1]!, unknown.key);
    }
    assert.equal(status, 200, 'recovered by itself, within the breaker backoff');
    const expected = 3 + during;
    const until = Date.now() + 20_000;
    for (;;) {
      const usage = await manage(
        nodes[0]!,
        'GET',
        `/v1/usage?keyId=${created.id}&granularity=hour`,
      );
      const count = usage.data.reduce((n: number, b: { count: number }) => n + b.count, 0);
      if (count === expected) break;
      assert.ok(count < expected, `more events than requests: ${count}`);
      assert.ok(
        Date.now() < until,
        `usage events written after the outage: ${count} of ${expected}`,
      );
      await new Promise((r) => setTimeout(r, 250));
    }
  });

  test('a node killed with SIGKILL: the others keep serving and still receive revocations', async () => {
    const [a, b, c] = nodes as [ClusterNode, ClusterNode, ClusterNode];
    const created = await manage(a, 'POST', '/v1/keys', { name: 'survivor' });
    await c.stop('SIGKILL');
    assert.equal(await auth(a, created.key), 200);
    assert.equal(await auth(b, created.key), 200);
    await manage(a, 'POST', `/v1/keys/${created.id}/revoke`);
    const deadline = Date.now() + 1000;
    while ((await auth(b, created.key)) !== 401) assert.ok(Date.now() < deadline);
  });
});
