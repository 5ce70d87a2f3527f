import assert from 'node:assert/strict';
import { test } from 'node:test';
import { manualClock } from '../clock/index.ts';
import { afterStoreCall, CLOSED, decideStoreAccess, StoreBreaker } from './store-breaker.ts';

const policy = { baseDelayMs: 250, maxDelayMs: 1000 };

test('closed: every request reads the store', () => {
  assert.equal(decideStoreAccess(CLOSED, 0), 'call');
});

test('a failure opens it: requests skip the store until the backoff ends, then one probes', () => {
  const open = afterStoreCall(CLOSED, { ok: false, probe: false }, 1000, policy);
  assert.deepEqual(open, { open: true, failures: 1, retryAt: 1250, probing: false });
  assert.equal(decideStoreAccess(open, 1249), 'skip');
  assert.equal(decideStoreAccess(open, 1250), 'probe');
  assert.equal(decideStoreAccess({ ...open, probing: true }, 1300), 'skip', 'one probe at a time');
});

test('a failed probe doubles the backoff up to its cap; a success closes it', () => {
  let state = afterStoreCall(CLOSED, { ok: false, probe: false }, 0, policy);
  const delays: number[] = [];
  for (let i = 0; i < 7; i++) {
    state = afterStoreCall(state, { ok: false, probe: true }, 0, policy);
    delays.push(state.retryAt);
  }
  assert.deepEqual(delays, [500, 1000, 1000, 1000, 1000, 1000, 1000]);
  assert.deepEqual(afterStoreCall(state, { ok: true, probe: true }, 0, policy), CLOSED);
});

test('a call already under way when it opened does not extend the backoff', () => {
  const open = afterStoreCall(CLOSED, { ok: false, probe: false }, 0, policy);
  assert.equal(afterStoreCall(open, { ok: false, probe: false }, 100, policy), open);
});

test('the class reports each change of state once, and counts', () => {
  const clock = manualClock(0);
  const events: string[] = [];
  const breaker = new StoreBreaker({
    clock,
    onOpen: () => events.push('open'),
    onClose: (ms) => events.push(`closed after ${ms} ms`),
  });
  assert.equal(breaker.access(), 'call');
  breaker.failed(new Error('down'));
  breaker.failed(new Error('down'));
  for (let i = 0; i < 100; i++) assert.equal(breaker.access(), 'skip');
  clock.advance(250);
  assert.equal(breaker.access(), 'probe');
  assert.equal(breaker.access(), 'skip');
  breaker.failed(new Error('down'), true);
  clock.advance(500);
  assert.equal(breaker.access(), 'probe');
  breaker.succeeded();
  assert.equal(breaker.access(), 'call');
  assert.deepEqual(events, ['open', 'closed after 750 ms']);
  assert.deepEqual(breaker.counts, { failures: 3, skipped: 101, opened: 1 });
});
