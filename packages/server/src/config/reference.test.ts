import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

/**
 * docs/configuration.md is the reference of every environment variable keywarden reads. It is
 * written by hand (its prose explains each setting), so this test keeps it honest both ways,
 * as fastify's error test does for its catalogue: every variable the server or CLI reads is
 * documented there, and every variable its tables name is read by the code.
 */
const SRC = fileURLToPath(new URL('..', import.meta.url));
const DOC = fileURLToPath(new URL('../../../../docs/configuration.md', import.meta.url));

/** Variables that only the test suites read: not settings a user has. */
const TEST_ONLY = /^KEYWARDEN_(TEST|FUZZ|BENCH)_/;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'testing' ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

function variablesReadByCode(): Set<string> {
  const found = new Set<string>();
  for (const file of sourceFiles(SRC)) {
    for (const match of readFileSync(file, 'utf8').matchAll(/\benv\.(KEYWARDEN_[A-Z0-9_]+)/g)) {
      if (!TEST_ONLY.test(match[1] as string)) found.add(match[1] as string);
    }
  }
  return found;
}

const doc = readFileSync(DOC, 'utf8');
const tableVariables = new Set(
  [...doc.matchAll(/^\| `(KEYWARDEN_[A-Z0-9_]+)`/gm)].map((m) => m[1] as string),
);

test('the code reads variables: the scan finds the well-known ones', () => {
  const read = variablesReadByCode();
  for (const name of ['KEYWARDEN_PORT', 'KEYWARDEN_PEPPER', 'KEYWARDEN_ADMIN_KEY']) {
    assert.ok(read.has(name), `${name} not found: the scan of the source is broken`);
  }
});

test('every variable the code reads is documented in docs/configuration.md', () => {
  const missing = [...variablesReadByCode()].filter((name) => !doc.includes(`\`${name}\``));
  assert.deepEqual(missing, [], `add these to docs/configuration.md: ${missing.join(', ')}`);
});

test('every variable docs/configuration.md lists is read by the code', () => {
  const read = variablesReadByCode();
  assert.ok(tableVariables.size > 10, 'the tables of docs/configuration.md were not found');
  const stale = [...tableVariables].filter((name) => !read.has(name));
  assert.deepEqual(stale, [], `documented but never read: ${stale.join(', ')}`);
});
