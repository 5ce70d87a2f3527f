import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withDeadline } from './deadline.ts';

test('withDeadline: the work settles first, with its value or its error', async () => {
  assert.equal(await withDeadline(Promise.resolve(7), 1000, () => new Error('late')), 7);
  await assert.rejects(
    withDeadline(Promise.reject(new Error('own')), 1000, () => new Error('late')),
    /own/,
  );
});

test('withDeadline: a work that never settles is refused with the given error', async () => {
  const never = new Promise<number>(() => {});
  await assert.rejects(
    withDeadline(never, 10, () => new RangeError('no answer')),
    (error) => error instanceof RangeError && error.message === 'no answer',
  );
});
