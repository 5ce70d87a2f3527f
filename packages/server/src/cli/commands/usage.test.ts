import assert from 'node:assert/strict';
import { test } from 'node:test';
import { usageTableRows, usageTotals } from './usage.ts';

const row = {
  start: '2030-01-01T10:00:00.000Z',
  count: 3,
  cost: 3,
  tokensIn: 40,
  tokensOut: 12,
  costMicros: 12,
  costUsd: '0.000012',
  unpriced: 1,
  latencyMsAvg: 12.345,
};

test('keywarden usage: money in dollars, credits named credits, unpriced calls shown', () => {
  assert.deepEqual(usageTableRows([row]), [
    {
      start: row.start,
      count: 3,
      credits: 3,
      tokensIn: 40,
      tokensOut: 12,
      cost: '$0.000012',
      unpriced: 1,
      latencyMsAvg: 12.3,
    },
  ]);
  assert.equal(
    usageTotals([row, { ...row, costMicros: 1_000_000, unpriced: 0 }]),
    'total cost $1.000012, not counting 1 unpriced call (a model without a price: cost unknown; see keywarden prices)',
  );
  assert.equal(usageTotals([{ ...row, unpriced: 0 }]), 'total cost $0.000012');
});
