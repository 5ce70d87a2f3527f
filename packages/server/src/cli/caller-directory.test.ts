import assert from 'node:assert/strict';
import { test } from 'node:test';
import { callerDirectory } from './caller-directory.ts';

test('npm run keywarden: the caller is INIT_CWD', () => {
  const env = { npm_lifecycle_event: 'keywarden', INIT_CWD: '/home/me/app' };
  assert.equal(callerDirectory(env), '/home/me/app');
});

test('started by another npm script (a test run, a user script), its own directory stands', () => {
  assert.equal(callerDirectory({ npm_lifecycle_event: 'test:unit', INIT_CWD: '/repo' }), null);
  assert.equal(callerDirectory({ npm_lifecycle_event: 'scan', INIT_CWD: '/home/me' }), null);
});

test('outside npm: its own directory stands', () => {
  assert.equal(callerDirectory({}), null);
  assert.equal(callerDirectory({ INIT_CWD: '/somewhere' }), null);
});
