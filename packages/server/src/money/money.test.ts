import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatUsd, microsToUnits, unitsToMicros } from './index.ts';

test('units → micros is exact where float multiplication drifts', () => {
  assert.notEqual(8.2 * 1e6, 8_200_000, 'the drift this module exists to avoid');
  assert.equal(unitsToMicros(8.2), 8_200_000);
  assert.equal(unitsToMicros(1.005), 1_005_000);
  assert.equal(unitsToMicros(0.07), 70_000);
  assert.equal(unitsToMicros(2.5), 2_500_000);
  assert.equal(unitsToMicros(25), 25_000_000);
  assert.equal(unitsToMicros(0.000001), 1);
  assert.equal(unitsToMicros(0), 0);
  assert.equal(unitsToMicros(1_000_000_000.123456), 1_000_000_000_123_456);
  assert.equal(unitsToMicros(9_007_199_254.74099), 9_007_199_254_740_990);
});

test('units → micros refuses what it cannot store exactly', () => {
  for (const amount of [
    0.0000001,
    1.1234567,
    -1,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    1e21,
    9_007_199_254.741,
  ]) {
    assert.equal(unitsToMicros(amount), null, String(amount));
  }
});

test('micros → units round-trips through JSON text', () => {
  for (const text of ['0.07', '2.5', '25', '0.000001', '123.456789', '1000000000.123456']) {
    const micros = unitsToMicros(Number(text))!;
    assert.equal(JSON.stringify(microsToUnits(micros)), text);
  }
});

test('micros → exact decimal text, never a float', () => {
  assert.equal(formatUsd(12), '0.000012');
  assert.equal(formatUsd(0), '0.000000');
  assert.equal(formatUsd(4_500_000_000), '4500.000000');
  assert.equal(formatUsd(Number.MAX_SAFE_INTEGER), '9007199254.740991');
  assert.equal(formatUsd(41_000, 4), '0.0410');
  assert.equal(formatUsd(1_000, 4), '0.0010');
  assert.equal(formatUsd(12, 4), '0.000012', 'a digit is never dropped');
  assert.equal(formatUsd(30_000_000, 2), '30.00');
  assert.equal(formatUsd(75_000, 2), '0.075');
  assert.equal(formatUsd(30_000_000, 0), '30');
  assert.throws(() => formatUsd(0.5), RangeError);
});
