import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BudgetResult } from '../limiter/index.ts';
import { budgetRefusal, unpricedModelRefusal } from './refusals.ts';

const budget = (over: Partial<BudgetResult>): BudgetResult => ({
  subject: 'key:k1',
  name: 'daily',
  amountMicros: 1_000,
  period: 'day',
  spentMicros: 0,
  remainingMicros: 1_000,
  resetSeconds: 3_600,
  ...over,
});

test('a spent budget: named, with what was spent and when it resets', () => {
  const detail = budgetRefusal([budget({ spentMicros: 1_000, remainingMicros: 0 })], {
    costMicros: 10,
    outputTokens: 50,
    defaultOutput: false,
  });
  assert.equal(
    detail,
    'the budget "daily" is spent: $0.0010 of $0.0010 used this day; it resets in 60 min',
  );
});

test('a reservation that does not fit: the budget that refused, not the first one', () => {
  const detail = budgetRefusal(
    [
      budget({
        name: 'monthly',
        amountMicros: 5_000_000,
        remainingMicros: 5_000_000,
        period: 'month',
      }),
      budget({ subject: 'owner:team', name: 'total', period: 'total', resetSeconds: null }),
    ],
    { costMicros: 41_000, outputTokens: 4_096, defaultOutput: true },
  );
  assert.match(
    detail,
    /^this request reserves up to \$0\.0410 for its prompt and 4,096 output tokens \(the default when the request sets no max_tokens\); the owner's budget "total" has \$0\.0010 left of \$0\.0010 in total \(it never resets\); this request can never fit/,
  );
});

test('an unpriced model: how to add a price', () => {
  assert.match(
    unpricedModelRefusal('gpt-x', 'openai'),
    /"gpt-x" has no price.*--price gpt-x=INPUT,OUTPUT/,
  );
});
