import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { type Keywarden, openKeywarden } from '../app/index.ts';
import { CLI_ACTOR } from '../audit/index.ts';
import { loadConfig } from '../config/index.ts';
import { useTestDatabase } from '../testing/postgres.ts';
import { GENESIS_HASH, verifyAuditPage } from './audit-chain.ts';
import type { AuditEntry } from './types.ts';

/**
 * Cluster mode end to end: keywarden nodes on one PostgreSQL database (KEYWARDEN_DATABASE_URL)
 * with shared secrets from the environment. A key created on one node verifies on another.
 */
const database = await useTestDatabase();
const secret = () => randomBytes(32).toString('base64');
const clusterEnv = {
  KEYWARDEN_DATABASE_URL: database.url,
  KEYWARDEN_PEPPER: secret(),
  KEYWARDEN_MASTER_KEY: secret(),
};

const nodes: Keywarden[] = [];
async function startNode(env: NodeJS.ProcessEnv = clusterEnv): Promise<Keywarden> {
  const kw = await openKeywarden(loadConfig(env), { env, lastUsedIntervalMs: 0 });
  nodes.push(kw);
  return kw;
}

describe('cluster mode: keywarden nodes on PostgreSQL', () => {
  // Before the database is dropped (the file-level hook): closing flushes usage events.
  after(async () => {
    for (const kw of nodes) await kw.close();
  });

  test('a key created on one node verifies there and on a second node', async () => {
    const first = await startNode();
    assert.equal(first.store.backend, 'postgres');
    const created = await first.keys.create(
      { name: 'cluster key', env: 'prod', scopes: ['orders:read'] },
      CLI_ACTOR,
    );
    const onFirst = await first.verifier.verify({
      key: created.plaintext,
      requiredScopes: ['orders:read'],
      usage: { entryPoint: 'verify' },
    });
    assert.equal(onFirst.code, 'VALID');
    assert.equal(onFirst.key?.id, created.record.id);

    const second = await startNode();
    const onSecond = await second.verifier.verify({
      key: created.plaintext,
      requiredScopes: ['orders:read'],
      usage: { entryPoint: 'verify' },
    });
    assert.equal(onSecond.code, 'VALID');
    assert.equal(onSecond.key?.id, created.record.id);
    await second.store.ping();
    assert.equal((await second.verifier.verify({ key: `${created.plaintext}x` })).valid, false);

    // Both nodes write to one audit chain and one usage log.
    const another = await second.keys.create({ name: 'from node 2' }, CLI_ACTOR);
    assert.equal((await first.verifier.verify({ key: another.plaintext })).code, 'VALID');
    const audit: AuditEntry[] = await first.store.audit.scan(0, 10_000);
    assert.deepEqual(verifyAuditPage(audit, { seq: 0, hash: GENESIS_HASH }).breaks, []);
    assert.deepEqual(
      audit.filter((e) => e.action === 'key.create').map((e) => e.targetId),
      [created.record.id, another.record.id],
    );
    await first.usage.flush();
    await second.usage.flush();
    assert.equal(await second.store.usage.countEvents({ keyId: created.record.id }), 2);
  });

  test('two nodes creating the same project at once: one wins, the other hears ALREADY_EXISTS', async () => {
    const [a, b] = [await startNode(), await startNode()];
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) =>
        (i % 2 ? a : b).projects.create({ name: 'racing', prefix: `rc${i}` }, CLI_ACTOR),
      ),
    );
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    for (const r of results) {
      if (r.status === 'rejected')
        assert.equal((r.reason as { code?: string }).code, 'ALREADY_EXISTS');
    }
  });

  test('a node with another pepper does not accept the keys, and none starts without secrets', async () => {
    const first = nodes[0] ?? (await startNode());
    const created = await first.keys.create({ name: 'pepper check' }, CLI_ACTOR);
    const stranger = await startNode({ ...clusterEnv, KEYWARDEN_PEPPER: secret() });
    assert.equal((await stranger.verifier.verify({ key: created.plaintext })).code, 'NOT_FOUND');
    const { KEYWARDEN_PEPPER: _p, KEYWARDEN_MASTER_KEY: _m, ...withoutSecrets } = clusterEnv;
    await assert.rejects(startNode(withoutSecrets), /KEYWARDEN_PEPPER and KEYWARDEN_MASTER_KEY/);
  });
});
