import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openSqliteStore } from './sqlite.ts';
import { defineStoreSuite } from './store.suite.ts';

defineStoreSuite('sqlite (file, WAL)', () =>
  openSqliteStore(join(mkdtempSync(join(tmpdir(), 'kw-store-')), 'keywarden.db')),
);
defineStoreSuite('sqlite (memory)', () => openSqliteStore(':memory:'));

const modeOf = (path: string) => statSync(path).mode & 0o777;

test('the database and its WAL files are readable by their owner only, also an older store', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'kw-store-mode-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const dir = join(root, 'data');
  const file = join(dir, 'keywarden.db');
  const store = await openSqliteStore(file);
  // Opening ran the migrations: written, so the WAL and its index exist.
  assert.equal(modeOf(dir), 0o700);
  for (const path of [file, `${file}-wal`, `${file}-shm`]) {
    assert.ok(existsSync(path), path);
    assert.equal(modeOf(path), 0o600, path);
  }
  await store.close();

  // A store made before this check, world-readable: tightened when opened again.
  const old = join(root, 'old.db');
  writeFileSync(old, '');
  chmodSync(old, 0o644);
  const reopened = await openSqliteStore(old);
  assert.equal(modeOf(old), 0o600);
  await reopened.close();
});
