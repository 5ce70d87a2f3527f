import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { clusterSecrets } from '../testing/cluster.ts';
import { startTestNode } from '../testing/harness.ts';
import { useTestDatabase } from '../testing/postgres.ts';
import { redisNamespace } from '../testing/redis.ts';
import {
  type AtRest,
  findSecrets,
  postgresRows,
  redisEntries,
  sqliteFiles,
} from '../testing/secrets-sweep.ts';
import { exerciseEveryWriteRoute, githubSigner } from '../testing/secrets-workload.ts';

/**
 * After real use of every write route (testing/secrets-workload.ts: keys created, rotated,
 * revoked, deleted; management keys; provider secrets set and rotated; verifications with the
 * key in every position; leak reports; bad requests carrying keys), no plaintext secret may be
 * anywhere at rest: not in the SQLite files, not in any row of any PostgreSQL table, not in
 * any Redis key or value, not in the logs. Searched as plaintext, hex, base64 and a key's
 * 30-character tail (testing/secrets-sweep.ts).
 *
 * Each backend is swept by this file itself, since test files run in separate processes and
 * the secrets of other files are not visible here; other files add their own backends' data
 * by calling the same helpers.
 */
function assertNoHits(secrets: string[], sources: AtRest[]): void {
  const hits = findSecrets(secrets, sources);
  assert.deepEqual(
    hits.map((h) => `${h.form} ${h.secret} in ${h.where}: …${h.context}…`),
    [],
    `plaintext secrets at rest (${hits.length})`,
  );
}

/**
 * A sweep that reads nothing finds nothing: each source must find a canary written into it
 * the way a careless write would (text, and bytes stored as bytea / blob).
 */
function assertCanaryFound(canary: string, sources: AtRest[], kinds: string[]): void {
  const hits = findSecrets([canary], sources);
  for (const kind of kinds)
    assert.ok(
      hits.some((h) => h.where.includes(kind)),
      `the sweep reads ${kind}: a canary written there is found`,
    );
}

describe('no plaintext secret at rest', () => {
  const github = githubSigner();
  after(() => rmSync(dirname(github.file), { recursive: true, force: true }));
  const githubEnv = { KEYWARDEN_GITHUB_KEYS_FILE: github.file, KEYWARDEN_GITHUB_KEYS_URL: 'off' };

  test('one node on SQLite: the database, its WAL, the logs', async () => {
    const node = await startTestNode({ env: githubEnv });
    try {
      const run = await exerciseEveryWriteRoute(node, github);
      await run.close();
      assert.ok(
        run.secrets.length >= 10,
        `the run made secrets to look for (${run.secrets.length})`,
      );
      const canary = `canary-${randomUUID()}`;
      const db = new SQLite(join(node.dataDir, 'keywarden.db'));
      db.exec('create table sweep_canary (t text, b blob)');
      db.prepare('insert into sweep_canary values (?, ?)').run(canary, Buffer.from(canary));
      db.close();
      node.app.log.info({ canary }, 'sweep canary');
      const files = sqliteFiles(node.dataDir);
      assert.ok(files.some((f) => f.where.endsWith('keywarden.db')));
      const logs = node.logs.join('');
      assert.ok(logs.length > 1000, 'the run produced logs to search');
      const sources = [...files, { where: 'logs', text: logs }];
      assertCanaryFound(canary, sources, ['keywarden.db', 'logs']);
      assertNoHits(run.secrets, sources);
      const secretsFile = statSync(join(node.dataDir, 'secrets.json'));
      assert.equal(secretsFile.mode & 0o777, 0o600);
    } finally {
      await node.close();
    }
  });

  test('a cluster node on PostgreSQL and Redis: every table, every Redis key, the logs', async () => {
    const db = await useTestDatabase();
    const redis = await redisNamespace('secrets-at-rest');
    after(() => redis.cleanup());
    const node = await startTestNode({
      env: {
        ...githubEnv,
        ...clusterSecrets(),
        KEYWARDEN_DATABASE_URL: db.url,
        KEYWARDEN_REDIS_URL: redis.url,
        KEYWARDEN_REDIS_PREFIX: redis.prefix,
      },
    });
    try {
      const run = await exerciseEveryWriteRoute(node, github);
      await run.close();
      const canary = `canary-${randomUUID()}`;
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      await client.query('create table sweep_canary (t text, b bytea)');
      await client.query('insert into sweep_canary values ($1, $2)', [canary, Buffer.from(canary)]);
      await client.end();
      await redis.client.hSet(`${redis.prefix}sweep-canary`, { value: canary });
      node.app.log.info({ canary }, 'sweep canary');
      const rows = await postgresRows(db.url);
      assert.ok(
        rows.some((r) => r.where.endsWith('.keys') && r.text.length > 0),
        'the keys table was found and has rows',
      );
      const entries = await redisEntries(redis.client, redis.prefix);
      assert.ok(entries.length > 0, 'the run left Redis keys to search');
      const sources = [...rows, ...entries, { where: 'logs', text: node.logs.join('') }];
      assertCanaryFound(canary, sources, ['postgres public.sweep_canary', 'redis', 'logs']);
      assert.ok(
        findSecrets([canary], rows).some((h) => h.form === 'encoded'),
        'bytea is searched in its hex form',
      );
      assertNoHits(run.secrets, sources);
    } finally {
      await node.close();
    }
  });
});
