import assert from 'node:assert/strict';
import { test } from 'node:test';
import { boxed, formatCell, usd } from './output.ts';

test('keys show: budgets and rate limits as a person writes them, never [object Object]', () => {
  assert.equal(
    formatCell([
      { name: 'monthly', amount: 25, period: 'month' },
      { name: 'daily', amount: 0.001, period: 'day' },
    ]),
    'monthly=$25.00/month daily=$0.001/day',
  );
  assert.equal(
    formatCell([
      { name: 'rpm', limit: 60, windowSeconds: 60 },
      { name: 'tpm', limit: 100000, windowSeconds: 60, unit: 'tokens' },
    ]),
    'rpm=60/60 tpm=100000/60/tokens',
  );
  assert.equal(formatCell([{ other: 1 }]), '{"other":1}');
  assert.equal(formatCell(['a', 'b']), 'a b');
  assert.equal(formatCell(null), '-');
  assert.equal(usd(8.2), '$8.20');
});

test('the first-start box fits its text: every line as wide as the others', () => {
  const box = boxed(['A management key with the `admin` scope was created.', 'short']).split('\n');
  assert.equal(new Set(box.map((line) => line.length)).size, 1, box.join('\n'));
  assert.equal(box[1], '  │ A management key with the `admin` scope was created. │');
});
