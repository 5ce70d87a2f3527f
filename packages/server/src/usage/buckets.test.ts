import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bucketCount, bucketStart, bucketStarts } from './buckets.ts';

const T = Date.UTC(2030, 5, 15); // midnight UTC
const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

describe('time buckets', () => {
  test('bucketStart floors to the UTC minute, hour and day, edges included', () => {
    assert.equal(bucketStart(T, 'minute'), T);
    assert.equal(bucketStart(T + MIN - 1, 'minute'), T);
    assert.equal(bucketStart(T + MIN, 'minute'), T + MIN);
    assert.equal(bucketStart(T + HOUR - 1, 'hour'), T);
    assert.equal(bucketStart(T + HOUR, 'hour'), T + HOUR);
    assert.equal(bucketStart(T + DAY - 1, 'day'), T);
    assert.equal(bucketStart(T + DAY, 'day'), T + DAY);
    assert.equal(bucketStart(T + 5 * HOUR + 7, 'day'), T);
  });

  test('bucketCount counts the bucket starts in [from, to)', () => {
    assert.equal(bucketCount(T, T + DAY, 'minute'), 1440);
    assert.equal(bucketCount(T + 1, T + DAY + 1, 'minute'), 1440, 'any 24 h holds 1440 starts');
    assert.equal(bucketCount(T, T + DAY + 1, 'minute'), 1441);
    assert.equal(bucketCount(T + 1, T + MIN, 'minute'), 0);
    assert.equal(bucketCount(T + 1, T + MIN + 1, 'minute'), 1);
    assert.equal(bucketCount(T, T, 'hour'), 0);
    assert.equal(bucketCount(T + DAY, T, 'hour'), 0);
    assert.equal(bucketCount(T, T + 60 * DAY, 'day'), 60);
  });

  test('bucketStarts lists them, and agrees with bucketCount', () => {
    assert.deepEqual(bucketStarts(T - 1, T + 2 * HOUR, 'hour'), [T, T + HOUR]);
    assert.deepEqual(bucketStarts(T + 1, T + HOUR, 'hour'), []);
    for (const [from, to] of [
      [T + 17, T + DAY - 3],
      [T, T + 3 * HOUR],
      [T - 5 * MIN, T + 5 * MIN + 1],
    ] as const) {
      for (const g of ['minute', 'hour', 'day'] as const) {
        assert.equal(bucketStarts(from, to, g).length, bucketCount(from, to, g));
      }
    }
  });
});
