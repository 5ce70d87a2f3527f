import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { groupUsageEvents } from './group.ts';
import { usageEvent } from './testing/events.ts';
import type { UsageEvent } from './types.ts';

const T = Date.UTC(2030, 0, 1, 12);

describe('groupUsageEvents', () => {
  test('one row per identical event of a second; the first time, the mean latency', () => {
    const rows = groupUsageEvents([
      usageEvent({ at: T + 5, latencyMs: 2 }),
      usageEvent({ at: T + 7, latencyMs: 4 }),
      usageEvent({ at: T + 8, outcome: 'RATE_LIMITED', status: 429 }),
      usageEvent({ at: T + 9, latencyMs: 6 }),
    ]);
    assert.deepEqual(
      rows.map((r) => [r.at - T, r.outcome, r.count, r.latencyMs]),
      [
        [5, 'VALID', 3, 4],
        [8, 'RATE_LIMITED', 1, 1],
      ],
    );
  });

  test('an event that stands for several (a folded run) counts as that many', () => {
    const rows = groupUsageEvents([
      usageEvent({ at: T + 5, latencyMs: 2, count: 3 }),
      usageEvent({ at: T + 7, latencyMs: 6 }),
    ]);
    assert.deepEqual(
      rows.map((r) => [r.at - T, r.count, r.latencyMs]),
      [[5, 4, 3]],
    );
  });

  test('any difference keeps events apart: every field, the second, the cost', () => {
    const base = usageEvent({ at: T, route: 'GET /a', clientIp: '10.0.0.1', userAgent: 'ua' });
    const variants: Partial<UsageEvent>[] = [
      { at: T + 1000 },
      { keyId: 'key_B' },
      { projectId: 'prj_Q' },
      { ownerId: null },
      { env: 'dev' },
      { outcome: 'INSUFFICIENT_SCOPE' },
      { entryPoint: 'forward-auth' },
      { route: 'GET /b' },
      { route: null },
      { status: 204 },
      { clientIp: '10.0.0.2' },
      { userAgent: 'other' },
      { cost: 2 },
    ];
    const rows = groupUsageEvents([base, ...variants.map((v) => ({ ...base, ...v }))]);
    assert.equal(rows.length, variants.length + 1);
    assert.ok(rows.every((r) => r.count === 1));
  });

  test('a text holding the separator of another encoding cannot merge two events', () => {
    const rows = groupUsageEvents([
      usageEvent({ at: T, route: 'a","b', userAgent: null }),
      usageEvent({ at: T, route: 'a', userAgent: 'b' }),
    ]);
    assert.equal(rows.length, 2);
  });

  test('events with tokens or money are never grouped', () => {
    const priced = usageEvent({ at: T, entryPoint: 'gateway', tokensIn: 3, costMicros: 9 });
    const rows = groupUsageEvents([priced, { ...priced }, { ...priced, costMicros: null }]);
    assert.deepEqual(
      rows.map((r) => r.count),
      [1, 1, 1],
    );
  });

  test('property: counts add up, per identity, and a row of one is the event itself', () => {
    const eventArb = fc.record({
      ms: fc.integer({ min: 0, max: 2_999 }),
      key: fc.constantFrom('key_A', 'key_B'),
      outcome: fc.constantFrom('VALID' as const, 'RATE_LIMITED' as const),
      latencyMs: fc.integer({ min: 0, max: 50 }),
      tokens: fc.option(fc.integer({ min: 0, max: 9 }), { freq: 4 }),
    });
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 60 }), (drawn) => {
        const events = drawn.map((d) =>
          usageEvent({
            at: T + d.ms,
            keyId: d.key,
            outcome: d.outcome,
            latencyMs: d.latencyMs,
            tokensIn: d.tokens,
          }),
        );
        const rows = groupUsageEvents(events);
        assert.equal(
          rows.reduce((n, r) => n + r.count, 0),
          events.length,
        );
        const latency = rows.reduce((sum, r) => sum + r.latencyMs * r.count, 0);
        const expected = events.reduce((sum, e) => sum + e.latencyMs, 0);
        assert.ok(Math.abs(latency - expected) < 1e-6);
        for (const row of rows) {
          if (row.count !== 1) continue;
          const { count: _count, ...event } = row;
          assert.ok(events.some((e) => JSON.stringify(e) === JSON.stringify(event)));
        }
      }),
    );
  });
});
