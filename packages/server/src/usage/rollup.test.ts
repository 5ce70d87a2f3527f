import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { rollUp } from './rollup.ts';
import { usageEvent } from './testing/events.ts';
import type { UsageEvent } from './types.ts';

const T = Date.UTC(2030, 5, 15);
const event = (overrides: Partial<UsageEvent>): UsageEvent => usageEvent({ at: T, ...overrides });

describe('rollUp', () => {
  test('one delta per granularity, bucket and dimensions, with summed measures', () => {
    const deltas = rollUp([
      event({ at: T + 59_999, latencyMs: 3, tokensIn: 10, costMicros: 5 }),
      event({ at: T, latencyMs: 1, cost: 4, tokensOut: 2 }),
      event({ at: T + 60_000, latencyMs: 2 }),
    ]);
    const minutes = deltas.filter((d) => d.granularity === 'minute');
    assert.deepEqual(
      minutes.map((d) => [d.bucketStart - T, d.count, d.costSum, d.latencyMsSum]),
      [
        [0, 2, 5, 4],
        [60_000, 1, 1, 2],
      ],
    );
    const [hour] = deltas.filter((d) => d.granularity === 'hour');
    assert.deepEqual(hour, {
      granularity: 'hour',
      bucketStart: T,
      keyId: 'key_A',
      ownerId: 'user_1',
      projectId: 'prj_P',
      env: 'prod',
      outcome: 'VALID',
      count: 3,
      costSum: 6,
      tokensInSum: 10,
      tokensOutSum: 2,
      costMicrosSum: 5,
      unpricedSum: 0,
      latencyMsSum: 6,
    });
    assert.equal(deltas.filter((d) => d.granularity === 'day').length, 1);
  });

  test('an event that stands for several (a folded run) adds that many', () => {
    const [minute] = rollUp([event({ latencyMs: 2, cost: 3, count: 5 }), event({ latencyMs: 1 })]);
    assert.deepEqual([minute?.count, minute?.costSum, minute?.latencyMsSum], [6, 16, 11]);
  });

  test('calls without a price are counted, weighed by their count, apart from the money', () => {
    const deltas = rollUp([
      event({ tokensIn: 3, costMicros: null, unpriced: true }),
      event({ tokensIn: 4, costMicros: 7 }),
    ]);
    const [minute] = deltas;
    assert.deepEqual([minute?.unpricedSum, minute?.costMicrosSum], [1, 7]);
    assert.equal(deltas.find((d) => d.granularity === 'day')?.unpricedSum, 1);
  });

  test("NULL dimensions become '' so that key-less events share a row", () => {
    const nobody = { keyId: null, projectId: null, ownerId: null, env: null } as const;
    const deltas = rollUp([
      event({ ...nobody, outcome: 'MALFORMED' }),
      event({ ...nobody, outcome: 'MALFORMED', at: T + 1 }),
      event({ ...nobody, outcome: 'MISSING' }),
    ]).filter((d) => d.granularity === 'minute');
    assert.deepEqual(
      deltas.map((d) => [d.keyId, d.ownerId, d.projectId, d.env, d.outcome, d.count]),
      [
        ['', '', '', '', 'MALFORMED', 2],
        ['', '', '', '', 'MISSING', 1],
      ],
    );
  });

  test('deltas come sorted by their unique key, whatever the event order', () => {
    const events = [
      event({ keyId: 'key_B', at: T + 3_600_000 }),
      event({ keyId: 'key_A', at: T + 3_600_000 }),
      event({ keyId: 'key_B' }),
      event({ keyId: 'key_A', outcome: 'REVOKED' }),
    ];
    const forward = rollUp(events);
    assert.deepEqual(rollUp([...events].reverse()), forward);
    assert.deepEqual(
      forward
        .filter((d) => d.granularity === 'minute')
        .map((d) => [d.bucketStart - T, d.keyId, d.outcome]),
      [
        [0, 'key_A', 'REVOKED'],
        [0, 'key_B', 'VALID'],
        [3_600_000, 'key_A', 'VALID'],
        [3_600_000, 'key_B', 'VALID'],
      ],
    );
    assert.deepEqual(
      forward.map((d) => d.granularity),
      [...Array(4).fill('minute'), ...Array(4).fill('hour'), ...Array(3).fill('day')],
    );
  });

  test('an empty batch rolls up to nothing', () => {
    assert.deepEqual(rollUp([]), []);
  });
});
