import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateKey } from '@keywarden/core';
import { CLI_ACTOR } from '../audit/index.ts';
import { loadConfig } from '../config/index.ts';
import { clusterSecrets } from '../testing/cluster.ts';
import { createTestDatabase, type TestDatabase } from '../testing/postgres.ts';
import { type RedisNamespace, redisNamespace } from '../testing/redis.ts';
import { type Keywarden, openKeywarden } from './index.ts';

/**
 * The unknown-key guard on two nodes (PostgreSQL + Redis, in one process): a key created on
 * node A verifies on node B at its first use, even from a network that spent its budget on
 * forged keys, because B's filter hears A's `key-created` (or waits for it).
 */
describe('the key filter across two nodes', { timeout: 60_000 }, () => {
  let db: TestDatabase;
  let ns: RedisNamespace;
  let a: Keywarden;
  let b: Keywarden;

  before(async () => {
    db = await createTestDatabase();
    ns = await redisNamespace('key-filter');
    const env = {
      ...clusterSecrets(),
      KEYWARDEN_DATABASE_URL: db.url,
      KEYWARDEN_REDIS_URL: ns.url,
      KEYWARDEN_REDIS_PREFIX: ns.prefix,
    };
    a = await openKeywarden(loadConfig(env), { env });
    b = await openKeywarden(loadConfig(env), { env });
    // Both subscribed, and the filter reloaded after the first subscription (resync).
    for (let i = 0; i < 200 && !(a.unknownKeys?.trusted && b.unknownKeys?.trusted); i++) {
      await sleep(25);
    }
    assert.equal(b.unknownKeys?.trusted, true, 'node B trusts its filter');
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await ns?.cleanup();
    await db?.drop();
  });

  const verifyOn = (node: Keywarden, key: string, clientIp: string) =>
    node.verifier.verify({ key, clientIp });

  test('a flood of forged keys on B costs the store at most the network budget', async () => {
    let lookups = 0;
    const original = b.store.keys.findByHash;
    b.store.keys.findByHash = (hash) => {
      lookups++;
      return original(hash);
    };
    const started = performance.now();
    try {
      const verdicts = await Promise.all(
        Array.from({ length: 500 }, (_, i) =>
          verifyOn(b, generateKey({ prefix: 'kw', env: 'prod' }), `203.0.113.${i % 250}`),
        ),
      );
      const codes = new Set(verdicts.map((v) => v.code));
      assert.deepEqual([...codes], ['NOT_FOUND'], `trusted: ${b.unknownKeys?.trusted}`);
      // The budget: a burst of 20, then 5 a second (real time here) — against 500 before.
      const budget = 20 + Math.ceil(((performance.now() - started) / 1000) * 5);
      assert.ok(lookups <= budget, `${lookups} store lookups for 500 forged keys (≤ ${budget})`);
    } finally {
      b.store.keys.findByHash = original;
    }
  });

  test('a key created on A verifies on B at once, from a network over its budget', async () => {
    await Promise.all(
      Array.from({ length: 50 }, () =>
        verifyOn(b, generateKey({ prefix: 'kw', env: 'prod' }), '198.51.100.9'),
      ),
    );
    for (let i = 0; i < 10; i++) {
      const { plaintext } = await a.keys.create({ name: `first use ${i}` }, CLI_ACTOR);
      // No wait between the create on A and the first use on B.
      const verdict = await verifyOn(b, plaintext, '198.51.100.9');
      assert.equal(verdict.code, 'VALID', `key ${i}`);
    }
  });
});
