import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Logger } from '../log/index.ts';
import { repeatedFailureLog } from './repeated-failures.ts';

test('a failure repeating every second is logged once, then once a minute as a count', () => {
  const lines: string[] = [];
  const logger = {
    error: (_o: unknown, m: string) => lines.push(`error ${m}`),
    warn: (_o: unknown, m: string) => lines.push(`warn ${m}`),
    debug: () => {},
  } as unknown as Logger;
  let t = 0;
  let counted = 0;
  const fail = repeatedFailureLog(logger, 'writing usage events failed', {
    now: () => t,
    count: () => counted++,
  });
  for (; t < 120_000; t += 1000) fail(new Error('connection terminated'));
  assert.equal(counted, 120);
  assert.deepEqual(lines, [
    'error writing usage events failed',
    'warn writing usage events failed (still failing: 60 more times since the last line)',
  ]);
  // Quiet for a while, then failing again: a new outage, logged in full.
  t += 30_000;
  fail(new Error('down again'));
  assert.equal(lines.at(-1), 'error writing usage events failed');
});
