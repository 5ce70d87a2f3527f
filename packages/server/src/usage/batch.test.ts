import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UsageBatchBuilder, usageBatchOf, usageEventsOf } from './batch.ts';
import { usageEvent } from './testing/events.ts';

describe('usage batches in columns', () => {
  test('events round-trip every field, nulls and fractions included, in order', () => {
    const events = [
      usageEvent({ route: 'GET /a', latencyMs: 0.125, clientIp: '203.0.113.9' }),
      usageEvent({
        keyId: null,
        projectId: null,
        ownerId: null,
        env: null,
        outcome: 'MALFORMED',
        entryPoint: 'forward-auth',
        status: 401,
        cost: 0,
        userAgent: 'curl/8.5.0',
      }),
      usageEvent({
        entryPoint: 'gateway',
        tokensIn: 1200,
        tokensOut: 0,
        costMicros: 4_500_000_000,
        cost: 7,
      }),
    ];
    assert.deepEqual(usageEventsOf(usageBatchOf(events)), events);
    assert.deepEqual(usageEventsOf(usageBatchOf([])), []);
  });

  test('each distinct text is held once per batch, whatever field it is in', () => {
    const batch = usageBatchOf([
      usageEvent({ route: 'GET /a', userAgent: 'ua' }),
      usageEvent({ route: 'GET /b', userAgent: 'ua' }),
      usageEvent({ route: 'GET /a', userAgent: 'GET /a' }),
    ]);
    assert.deepEqual(
      [...batch.table].sort(),
      ['', 'GET /a', 'GET /b', 'VALID', 'key_A', 'prj_P', 'prod', 'ua', 'user_1', 'verify'].sort(),
    );
  });

  test('a builder holds up to its capacity, closes when sealed, and is reused after reset', () => {
    const builder = new UsageBatchBuilder(2);
    builder.add(usageEvent({ route: '/0' }));
    builder.add(usageEvent({ route: '/1' }));
    assert.equal(builder.full, true);
    assert.throws(() => builder.add(usageEvent()), /full/);
    builder.seal();
    const first = builder.batch();
    // Each call is a fresh copy, which a writer may transfer away.
    assert.notEqual(builder.batch().numbers, first.numbers);
    assert.deepEqual(
      usageEventsOf(first).map((e) => e.route),
      ['/0', '/1'],
    );
    builder.reset();
    assert.equal(builder.size, 0);
    builder.add(usageEvent({ route: '/2', keyId: 'key_B' }));
    const second = usageEventsOf(builder.batch());
    assert.deepEqual(
      second.map((e) => [e.route, e.keyId]),
      [['/2', 'key_B']],
    );
    assert.deepEqual(
      usageEventsOf(first).map((e) => e.route),
      ['/0', '/1'],
      'a batch taken before the reset is unchanged',
    );
  });
});
