import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from './sqlite.ts';
import { defineUsageSuite } from './usage.suite.ts';

defineUsageSuite('sqlite (file, WAL)', () =>
  openSqliteStore(join(mkdtempSync(join(tmpdir(), 'kw-usage-')), 'keywarden.db')),
);
defineUsageSuite('sqlite (memory)', () => openSqliteStore(':memory:'));
