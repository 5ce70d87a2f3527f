import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from './sqlite.ts';
import { defineStoreSuite } from './store.suite.ts';

defineStoreSuite('sqlite (file, WAL)', () =>
  openSqliteStore(join(mkdtempSync(join(tmpdir(), 'kw-store-')), 'keywarden.db')),
);
defineStoreSuite('sqlite (memory)', () => openSqliteStore(':memory:'));
