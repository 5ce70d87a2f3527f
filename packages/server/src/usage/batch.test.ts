import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { UsageBatchBuilder, usageBatchOf, usageEventsOf } from './batch.ts';
import { groupUsageEvents } from './group.ts';
import { rollUp } from './rollup.ts';
import { usageEvent } from './testing/events.ts';

const T = Date.UTC(2030, 0, 1, 12);

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
      usageEvent({ entryPoint: 'gateway', tokensIn: 9, tokensOut: 3, unpriced: true }),
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

  test('a repeat folds into the row before it: same second, texts, status and cost', () => {
    const builder = new UsageBatchBuilder(10);
    const events = [
      usageEvent({ at: T + 1, latencyMs: 1, route: 'GET /a' }),
      usageEvent({ at: T + 400, latencyMs: 2, route: 'GET /a' }),
      usageEvent({ at: T + 999, latencyMs: 6, route: 'GET /a' }),
      // Each differs from the row before it in one thing.
      usageEvent({ at: T + 1000, latencyMs: 1, route: 'GET /a' }),
      usageEvent({ at: T + 1001, latencyMs: 1, route: 'GET /b' }),
      usageEvent({ at: T + 1002, latencyMs: 1, route: 'GET /b', status: 429 }),
      usageEvent({ at: T + 1003, latencyMs: 1, route: 'GET /b', status: 429, cost: 0 }),
      // Priced: never folded, not even into an identical priced event.
      usageEvent({ at: T + 1004, route: 'GET /b', status: 429, cost: 0, tokensIn: 5 }),
      usageEvent({ at: T + 1005, route: 'GET /b', status: 429, cost: 0, tokensIn: 5 }),
      usageEvent({ at: T + 1006, route: 'GET /b', status: 429, cost: 0 }),
    ];
    for (const event of events) builder.add(event);
    assert.equal(builder.events, 10);
    assert.equal(builder.size, 8);
    const rows = usageEventsOf(builder.batch());
    assert.deepEqual(rows[0], { ...events[0], latencyMs: 3, count: 3 });
    assert.deepEqual(rows.slice(1), events.slice(3), 'the others are the events themselves');
  });

  test('property: folding changes no count, cost, latency sum or stored row', () => {
    const eventArb = fc.record({
      ms: fc.integer({ min: 0, max: 2_999 }),
      key: fc.constantFrom('key_A', 'key_B'),
      status: fc.constantFrom(200, 429),
      latencyMs: fc.integer({ min: 0, max: 50 }),
      tokens: fc.option(fc.integer({ min: 0, max: 9 }), { freq: 4 }),
    });
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 60 }), (drawn) => {
        const events = drawn
          .sort((a, b) => a.ms - b.ms)
          .map((d) =>
            usageEvent({
              at: T + d.ms,
              keyId: d.key,
              status: d.status,
              latencyMs: d.latencyMs,
              tokensIn: d.tokens,
            }),
          );
        const batch = usageBatchOf(events);
        const folded = usageEventsOf(batch);
        assert.equal(
          folded.reduce((n, e) => n + (e.count ?? 1), 0),
          events.length,
        );
        const round = (deltas: ReturnType<typeof rollUp>) =>
          deltas.map((d) => ({ ...d, latencyMsSum: Math.round(d.latencyMsSum * 1e6) }));
        assert.deepEqual(round(rollUp(folded)), round(rollUp(events)));
        const rows = (list: typeof events) =>
          groupUsageEvents(list).map((r) => ({ ...r, latencyMs: Math.round(r.latencyMs * 1e6) }));
        assert.deepEqual(rows(folded), rows(events));
      }),
    );
  });
});
