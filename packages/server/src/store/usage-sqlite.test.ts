import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import SQLite from 'better-sqlite3';
import { usageBatchOf } from '../usage/batch.ts';
import { openSqliteStore } from './sqlite.ts';
import type { Store } from './types.ts';
import { defineUsageSuite } from './usage.suite.ts';

const fileStore = () =>
  openSqliteStore(join(mkdtempSync(join(tmpdir(), 'kw-usage-')), 'keywarden.db'));

defineUsageSuite('sqlite (file, WAL)', fileStore);
defineUsageSuite('sqlite (memory)', () => openSqliteStore(':memory:'));

/**
 * The same contract through the batch writer a node uses on SQLite: batches in columns,
 * written by the worker thread on its own connection, read back on the main one.
 */
defineUsageSuite('sqlite (file, writer thread)', async (): Promise<Store> => {
  const store = await fileStore();
  const writer = store.usage.openBatchWriter?.();
  if (!writer) throw new Error('a file store has a batch writer');
  return {
    ...store,
    usage: { ...store.usage, insertBatch: (events) => writer.writeBatch(usageBatchOf(events)) },
    async close() {
      await writer.close();
      await store.close();
    },
  };
});

describe('the main connection beside the usage writer thread', () => {
  test('a write waits for the lock another connection holds, without blocking the event loop', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'kw-usage-lock-')), 'keywarden.db');
    const store = await openSqliteStore(file);
    // Holds the write lock, as the writer thread does while it commits a batch.
    const other = new SQLite(file);
    other.exec('begin immediate');
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    try {
      let written = false;
      const touch = store.keys
        .touch([{ keyId: 'key_none', at: 1, ip: null }])
        .then(() => (written = true));
      await sleep(50);
      assert.equal(written, false, 'the write waits for the lock');
      assert.ok(ticks >= 10, `timers kept firing meanwhile (${ticks})`);
      other.exec('commit');
      await touch;
      assert.equal(written, true);
      await store.transaction(async (tx) => {
        await tx.keys.touch([{ keyId: 'key_none', at: 2, ip: null }]);
      });
    } finally {
      clearInterval(timer);
      other.close();
      await store.close();
    }
  });
});

test('raw usage events carry one index, (key_id, at): the others cost every write', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'kw-usage-indexes-')), 'keywarden.db');
  const store = await openSqliteStore(file);
  await store.close();
  const database = new SQLite(file, { readonly: true });
  try {
    const indexes = database
      .prepare(
        "select name from sqlite_master where type = 'index' and tbl_name = 'usage_events' and sql is not null",
      )
      .pluck()
      .all();
    assert.deepEqual(indexes, ['usage_events_key_id_at_idx']);
  } finally {
    database.close();
  }
});
