import assert from 'node:assert/strict';
import { test } from 'node:test';
import { terminalProgress } from './progress.ts';

test('scan progress: rewritten in place at most every interval, erased at the end', () => {
  const written: string[] = [];
  let now = 0;
  const progress = terminalProgress(
    (text) => written.push(text),
    () => now,
    200,
  );
  progress({ files: 1, bytes: 1024 * 1024, findings: 0 });
  now = 100;
  progress({ files: 2, bytes: 2 * 1024 * 1024, findings: 1 });
  now = 250;
  progress({ files: 3, bytes: 3 * 1024 * 1024, findings: 1 });
  progress(null);
  assert.deepEqual(written, [
    '\r\x1b[Kscanning… 1 files, 1.0 MB, 0 findings',
    '\r\x1b[Kscanning… 3 files, 3.0 MB, 1 finding',
    '\r\x1b[K',
  ]);
  const quiet: string[] = [];
  terminalProgress(
    (text) => quiet.push(text),
    () => 0,
  )(null);
  assert.deepEqual(quiet, [], 'nothing to erase when nothing was shown');
});
