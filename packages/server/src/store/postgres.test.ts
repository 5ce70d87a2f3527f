import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, test } from 'node:test';
import pg from 'pg';
import { newId } from '../ids/index.ts';
import { createTestDatabase, useTestDatabase } from '../testing/postgres.ts';
import { startTcpProxy } from '../testing/tcp-proxy.ts';
import { GENESIS_HASH, verifyAuditPage } from './audit-chain.ts';
import { openPostgresStore } from './postgres.ts';
import { defineStoreSuite } from './store.suite.ts';
import { keyRecord } from './testing/records.ts';
import type { AuditEntry, AuditEntryInput, Store } from './types.ts';

// The shared contract, unchanged, on a fresh database of its own. The pool has several
// connections, so "concurrent appends keep one unbroken chain" really runs concurrently.
const database = await useTestDatabase();
defineStoreSuite(`postgres (${database.collation})`, () =>
  openPostgresStore(database.url, { poolSize: 8 }),
);

/** Raw SQL on a database, for assertions the Store interface does not offer. */
async function query<R extends pg.QueryResultRow>(url: string, text: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text)).rows;
  } finally {
    await client.end();
  }
}

const auditInput = (details: Record<string, unknown>): AuditEntryInput => ({
  at: Date.now(),
  actorId: 'cli',
  actorDisplay: 'cli',
  action: 'key.update',
  targetType: 'key',
  targetId: null,
  ip: null,
  result: 'success',
  requestId: null,
  details,
});

async function scanAll(store: Store): Promise<AuditEntry[]> {
  const all: AuditEntry[] = [];
  for (;;) {
    const page = await store.audit.scan(all.at(-1)?.seq ?? 0, 100);
    if (page.length === 0) return all;
    all.push(...page);
  }
}

describe('postgres: several nodes on one database', () => {
  test('three nodes migrating one fresh database at once: all start, one schema, one seed', async () => {
    const fresh = await createTestDatabase();
    const stores: Store[] = [];
    try {
      const opened = await Promise.allSettled(
        [1, 2, 3].map(() => openPostgresStore(fresh.url, { poolSize: 2 })),
      );
      for (const result of opened) if (result.status === 'fulfilled') stores.push(result.value);
      assert.deepEqual(
        opened.filter((r) => r.status === 'rejected').map((r) => String(r.reason)),
        [],
      );
      const migrations = await query<{ name: string }>(
        fresh.url,
        'select name from kysely_migration order by name',
      );
      assert.ok(migrations.length >= 4, 'every migration recorded');
      assert.equal(new Set(migrations.map((m) => m.name)).size, migrations.length);
      const projects = await query<{ name: string; n: string }>(
        fresh.url,
        'select name, count(*) as n from projects group by name order by name',
      );
      assert.deepEqual(
        projects.map((p) => [p.name, Number(p.n)]),
        [
          ['_management', 1],
          ['default', 1],
        ],
      );
      // Every node sees the same seed.
      for (const store of stores) {
        assert.equal((await store.projects.findByName('default'))?.prefix, 'kw');
      }
    } finally {
      await Promise.all(stores.map((s) => s.close()));
      await fresh.drop();
    }
  });

  test('three nodes appending 30 audit entries at once keep one unbroken chain', async () => {
    const nodes = await Promise.all(
      [1, 2, 3].map(() => openPostgresStore(database.url, { poolSize: 4 })),
    );
    try {
      const before = (await scanAll(nodes[0]!)).length;
      await Promise.all(
        Array.from({ length: 30 }, (_, i) => {
          const node = nodes[i % 3]!;
          // Half on their own, half inside a transaction with other work, as services do.
          return i % 2 === 0
            ? node.audit.append(auditInput({ i, node: i % 3 }))
            : node.transaction(async (tx) => {
                await tx.owners.upsert({
                  id: `chain-owner-${i}`,
                  ratelimits: null,
                  credits: null,
                  budgets: null,
                  createdAt: i,
                  updatedAt: i,
                });
                return tx.audit.append(auditInput({ i, node: i % 3 }));
              });
        }),
      );
      const all = await scanAll(nodes[1]!);
      assert.equal(all.length, before + 30);
      assert.deepEqual(verifyAuditPage(all, { seq: 0, hash: GENESIS_HASH }).breaks, []);
      assert.deepEqual(
        all.map((e) => e.seq),
        all.map((_, i) => i + 1),
      );
    } finally {
      await Promise.all(nodes.map((n) => n.close()));
    }
  });

  test('inside a transaction, reading a key by id locks it until commit (no lost updates across nodes)', async () => {
    const [a, b] = await Promise.all(
      [1, 2].map(() => openPostgresStore(database.url, { poolSize: 2 })),
    );
    try {
      const project = await a!.projects.findByName('default');
      const key = keyRecord({
        projectId: project!.id,
        name: 'lock test',
        hash: `lock-${newId('key')}`.toLowerCase(),
        display: 'kw_dev_…lock',
      });
      await a!.keys.insert(key);

      let readByA!: () => void;
      const aHasRead = new Promise<void>((resolve) => {
        readByA = resolve;
      });
      let letAWrite!: () => void;
      const aMayWrite = new Promise<void>((resolve) => {
        letAWrite = resolve;
      });
      // Node A: revoke (read, check, write).
      const revoke = a!.transaction(async (tx) => {
        const current = await tx.keys.findById(key.id);
        assert.equal(current?.status, 'active');
        readByA();
        await aMayWrite;
        await tx.keys.update(key.id, { status: 'revoked', revokedAt: Date.now() });
      });
      await aHasRead;
      // Node B: enable (read, check, write) while A holds the key.
      const bRead = b!.transaction(async (tx) => {
        const current = await tx.keys.findById(key.id);
        if (current?.status === 'revoked') return 'saw revoked';
        await tx.keys.update(key.id, { status: 'active' });
        return 'enabled';
      });
      await new Promise((resolve) => setTimeout(resolve, 150));
      letAWrite();
      await revoke;
      assert.equal(await bRead, 'saw revoked', "B waited for A's commit and saw the revocation");
      assert.equal((await b!.keys.findById(key.id))?.status, 'revoked');
    } finally {
      await Promise.all([a?.close(), b?.close()]);
    }
  });
});

describe('postgres: portability', () => {
  test('every text column compares byte-wise (COLLATE "C"), whatever the database collation', async () => {
    assert.match(
      database.collation,
      /ICU/,
      'this test needs a database whose default collation is not byte order: a PostgreSQL with ICU',
    );
    const store = await openPostgresStore(database.url);
    try {
      const columns = await query<{ table_name: string; column_name: string }>(
        database.url,
        `select table_name, column_name from information_schema.columns
          where table_schema = current_schema() and data_type = 'text'
            and table_name not like 'kysely%' and collation_name is distinct from 'C'`,
      );
      assert.deepEqual(columns, []);
      // Without it, ICU en-US orders 'a' before 'B' and '-' before '_': pages would differ
      // from SQLite's.
      const [naive] = await query<{ lt: boolean }>(
        database.url,
        `select 'owner-a' < 'owner-B' as lt`,
      );
      assert.equal(naive?.lt, true, 'the database collation itself is not byte order');

      const ids = ['zz-B', 'zz-a', 'zz_1', 'zz-Z', 'zz-10', 'zz-9', 'zz.x', 'ZZ-0', 'zz~'];
      for (const id of ids) {
        await store.owners.upsert({
          id,
          ratelimits: null,
          credits: null,
          budgets: null,
          createdAt: 1,
          updatedAt: 1,
        });
      }
      const byteOrder = [...ids].sort(); // UTF-16 code units: byte order for ASCII
      const listed = (await store.owners.list(1000))
        .map((o) => o.id)
        .filter((id) => /^zz/i.test(id));
      assert.deepEqual(listed, byteOrder);
      const afterCursor = (await store.owners.list(1000, 'zz-B')).map((o) => o.id);
      assert.deepEqual(
        afterCursor.filter((id) => /^zz/i.test(id)),
        byteOrder.filter((id) => id > 'zz-B'),
      );

      const names = (await store.projects.list()).map((p) => p.name);
      assert.deepEqual(names, [...names].sort());
    } finally {
      await store.close();
    }
  });

  test('bigint columns and counts come back as numbers', async () => {
    const store = await openPostgresStore(database.url);
    try {
      const project = await store.projects.findByName('default');
      assert.equal(typeof project?.createdAt, 'number');
      assert.equal(typeof (await store.projects.countKeys(project!.id)), 'number');
      assert.equal(typeof (await store.usage.countEvents({})), 'number');
      // Over 2^53 a query fails rather than losing precision.
      await store.owners.upsert({
        id: 'big-credits',
        ratelimits: null,
        credits: { remaining: Number.MAX_SAFE_INTEGER, refill: null, refilledAt: 0 },
        budgets: null,
        createdAt: 1,
        updatedAt: 1,
      });
      assert.equal(
        (await store.owners.findById('big-credits'))?.credits?.remaining,
        Number.MAX_SAFE_INTEGER,
      );
      await query(
        database.url,
        `update owners set credits_remaining = 2^62 where id = 'big-credits'`,
      );
      await assert.rejects(store.owners.findById('big-credits'), /exceeds Number.MAX_SAFE_INTEGER/);
      await store.owners.delete('big-credits');
    } finally {
      await store.close();
    }
  });
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address ? address.port : 1;
}

describe('postgres: when the database is unreachable', () => {
  const elapsed = async (work: () => Promise<unknown>) => {
    const started = Date.now();
    await work();
    return Date.now() - started;
  };

  test('opening a store on a closed port rejects within seconds, naming where', async () => {
    const port = await closedPort();
    const url = `postgres://kw:secret-password@127.0.0.1:${port}/keywarden`;
    let error: unknown;
    const ms = await elapsed(() =>
      openPostgresStore(url).then(
        (store) => store.close(),
        (e: unknown) => {
          error = e;
        },
      ),
    );
    assert.ok(error instanceof Error, 'openPostgresStore rejected');
    assert.match(
      error.message,
      new RegExp(`cannot connect to PostgreSQL at kw@127.0.0.1:${port}/keywarden`),
    );
    assert.match(error.message, /ECONNREFUSED/);
    assert.ok(!error.message.includes('secret-password'), 'the password stays out of the message');
    assert.ok(ms < 5000, `took ${ms} ms`);
  });

  test('opening a store where nothing answers rejects after the connection timeout', async () => {
    const proxy = await startTcpProxy(new URL(database.url));
    proxy.blackhole();
    const url = new URL(database.url);
    url.host = `127.0.0.1:${proxy.port}`;
    try {
      const ms = await elapsed(() =>
        assert.rejects(
          openPostgresStore(url.toString(), { connectionTimeoutMs: 500 }),
          /cannot connect to PostgreSQL at .*timeout/i,
        ),
      );
      assert.ok(ms < 3000, `took ${ms} ms`);
    } finally {
      await proxy.close();
    }
  });

  test('ping and queries fail fast while the network or the server is gone, and the pool recovers', async () => {
    const proxy = await startTcpProxy(new URL(database.url));
    const url = new URL(database.url);
    url.host = `127.0.0.1:${proxy.port}`;
    const idleErrors: Error[] = [];
    const store = await openPostgresStore(url.toString(), {
      poolSize: 3,
      connectionTimeoutMs: 500,
      pingTimeoutMs: 500,
      statementTimeoutMs: 500,
      onError: (error) => idleErrors.push(error),
    });
    const fillPool = () => Promise.all([store.ping(), store.ping(), store.keys.findById('key_x')]);
    try {
      await fillPool();

      // 1. The server goes down: every connection is cut and new ones are refused. The idle
      // pooled connections fail in the background: reported, never thrown.
      proxy.refuse();
      for (let i = 0; i < 50 && idleErrors.length === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.ok(idleErrors.length > 0, 'idle connections cut by the outage reach onError');
      let ms = await elapsed(() => assert.rejects(store.ping()));
      assert.ok(ms < 2000, `ping took ${ms} ms`);
      await assert.rejects(store.projects.list());

      // 2. It is back: the same store answers again, without a restart.
      proxy.accept();
      await store.ping();
      assert.equal((await store.projects.findByName('default'))?.prefix, 'kw');
      await fillPool();

      // 3. Packets are dropped: pooled connections stay open but never answer, and new ones
      // never complete their handshake.
      proxy.blackhole();
      ms = await elapsed(() => assert.rejects(store.ping(), /did not answer|timeout/i));
      assert.ok(ms < 2000, `ping took ${ms} ms`);
      ms = await elapsed(() =>
        assert.rejects(store.keys.findById('key_x'), /did not answer|timeout/i),
      );
      assert.ok(ms < 3000, `query took ${ms} ms`);

      // 4. The network heals: connections that timed out were dropped, not handed out again.
      proxy.accept();
      await fillPool();
      await store.audit.append(auditInput({ after: 'outage' }));
      assert.deepEqual(
        verifyAuditPage(await scanAll(store), { seq: 0, hash: GENESIS_HASH }).breaks,
        [],
      );
    } finally {
      await store.close();
      await proxy.close();
    }
  });
});
