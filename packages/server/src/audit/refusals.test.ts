import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  closeTally,
  MAX_REFUSAL_IPS,
  type Refusal,
  type RefusalRow,
  type RefusalTally,
  tallyExpired,
  tallyRefusal,
} from './refusals.ts';

const T0 = Date.UTC(2026, 0, 1);
const WINDOW = 60_000;
const refusal = (over: Partial<Refusal> = {}): Refusal => ({
  actorId: 'key_A',
  actorDisplay: 'kwadmin_mgmt_…abcde',
  route: 'POST /v1/keys',
  code: 'INSUFFICIENT_SCOPE',
  required: 'keys:write',
  ip: '10.0.0.1',
  requestId: 'req_1',
  ...over,
});

/** Feeds refusals through the decision as the shell does; returns every row decided. */
function run(events: { at: number; refusal: Refusal }[], closeAt?: number): RefusalRow[] {
  let tally: RefusalTally | undefined;
  const rows: RefusalRow[] = [];
  for (const event of events) {
    const decision = tallyRefusal(tally, event.refusal, event.at, WINDOW);
    tally = decision.tally;
    rows.push(...decision.rows);
  }
  if (closeAt !== undefined && tally) rows.push(...closeTally(tally, closeAt));
  return rows;
}

test('the first refusal of a window is a row of its own, at once, with its IP and request id', () => {
  const rows = run([{ at: T0, refusal: refusal() }]);
  assert.equal(rows.length, 1);
  assert.equal(rows[0]?.kind, 'first');
  assert.deepEqual(rows[0]?.kind === 'first' && rows[0].refusal, refusal());
});

test('a flood in one window is two rows: the first, then "N more between t1 and t2" naming the key', () => {
  const events = Array.from({ length: 10_000 }, (_, i) => ({
    at: T0 + i * 5,
    refusal: refusal({ requestId: `req_${i}`, ip: `10.0.${i % 20}.1` }),
  }));
  const rows = run(events, T0 + WINDOW);
  assert.equal(rows.length, 2);
  const aggregate = rows[1];
  assert.ok(aggregate?.kind === 'repeated');
  assert.equal(aggregate.actorId, 'key_A');
  assert.equal(aggregate.count, 9_999);
  assert.equal(aggregate.from, T0 + 5);
  assert.equal(aggregate.to, T0 + 9_999 * 5);
  assert.equal(aggregate.lastRequestId, 'req_9999');
  assert.equal(aggregate.ips.length, MAX_REFUSAL_IPS, 'addresses are kept, boundedly');
  assert.equal(aggregate.ipsDropped, true);
});

test('rows stay bounded by windows, not by requests, over a long flood', () => {
  // One refusal every 10 ms for ten minutes: 60,000 refusals, ten windows.
  const events = Array.from({ length: 60_000 }, (_, i) => ({
    at: T0 + i * 10,
    refusal: refusal(),
  }));
  const rows = run(events, T0 + 600_000);
  assert.ok(rows.length <= 2 * 10, `${rows.length} rows`);
  const counted = rows.reduce((sum, r) => sum + (r.kind === 'repeated' ? r.count : 1), 0);
  assert.equal(counted, 60_000, 'every refusal is counted in some row');
});

test('a refusal after the window closes the old window and opens a new one', () => {
  const rows = run([
    { at: T0, refusal: refusal() },
    { at: T0 + 1, refusal: refusal() },
    { at: T0 + WINDOW, refusal: refusal({ requestId: 'req_new' }) },
  ]);
  assert.deepEqual(
    rows.map((r) => r.kind),
    ['first', 'repeated', 'first'],
  );
  assert.equal(rows[1]?.kind === 'repeated' && rows[1].count, 1);
});

test('a window with a single refusal closes without an aggregate row', () => {
  assert.deepEqual(run([{ at: T0, refusal: refusal() }], T0 + WINDOW).length, 1);
});

test('tallyExpired: at the end of the window, and when the clock went back', () => {
  const { tally } = tallyRefusal(undefined, refusal(), T0, WINDOW);
  assert.equal(tallyExpired(tally, T0 + WINDOW - 1, WINDOW), false);
  assert.equal(tallyExpired(tally, T0 + WINDOW, WINDOW), true);
  assert.equal(tallyExpired(tally, T0 - 1, WINDOW), true);
});
