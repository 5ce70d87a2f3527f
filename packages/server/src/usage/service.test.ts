import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { manualClock } from '../clock/index.ts';
import { KeywardenError } from '../errors/index.ts';
import { UsageService } from './service.ts';
import type { UsageQuery } from './types.ts';

const NOW = Date.UTC(2030, 0, 2, 12, 34, 56, 789);
const HOUR = 3_600_000;
const DAY = 86_400_000;

function serviceWithSpy() {
  const queries: UsageQuery[] = [];
  const service = new UsageService({
    usage: {
      async query(q) {
        queries.push(q);
        return [];
      },
    },
    clock: manualClock(NOW),
  });
  return { service, queries };
}

const rejectsOn = async (promise: Promise<unknown>, field: string) => {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof KeywardenError);
    assert.equal(error.code, 'VALIDATION_FAILED');
    assert.deepEqual(
      error.fieldErrors.map((f) => f.field),
      [field],
    );
    return true;
  });
};

describe('UsageService', () => {
  test('defaults: the last 24 hours, hourly, not grouped', async () => {
    const { service, queries } = serviceWithSpy();
    const report = await service.report({});
    assert.deepEqual(report, { granularity: 'hour', from: NOW - DAY, to: NOW, buckets: [] });
    assert.deepEqual(queries, [
      {
        keyId: undefined,
        ownerId: undefined,
        projectId: undefined,
        env: undefined,
        outcome: undefined,
        from: NOW - DAY,
        to: NOW,
        granularity: 'hour',
        groupBy: null,
      },
    ]);
  });

  test('passes filters through; a lone `to` or `from` fills in the other side', async () => {
    const { service, queries } = serviceWithSpy();
    await service.report({
      keyId: 'key_A',
      ownerId: 'user_1',
      projectId: 'prj_P',
      env: 'prod',
      outcome: 'RATE_LIMITED',
      to: NOW - HOUR,
      granularity: 'minute',
      groupBy: 'outcome',
    });
    assert.deepEqual(queries[0], {
      keyId: 'key_A',
      ownerId: 'user_1',
      projectId: 'prj_P',
      env: 'prod',
      outcome: 'RATE_LIMITED',
      from: NOW - HOUR - DAY,
      to: NOW - HOUR,
      granularity: 'minute',
      groupBy: 'outcome',
    });
    await service.report({ from: NOW - 3 * HOUR });
    assert.deepEqual([queries[1]?.from, queries[1]?.to], [NOW - 3 * HOUR, NOW]);
  });

  test('from must be before to', async () => {
    const { service, queries } = serviceWithSpy();
    await rejectsOn(service.report({ from: NOW, to: NOW }), 'query/from');
    await rejectsOn(service.report({ from: NOW + 1 }), 'query/from');
    assert.equal(queries.length, 0);
  });

  test('at most 1,440 buckets per answer', async () => {
    const { service, queries } = serviceWithSpy();
    await service.report({ granularity: 'minute' }); // any 24 h holds exactly 1,440 minutes
    await service.report({ from: NOW - 60 * DAY, granularity: 'hour' }); // 1,440 hours
    await service.report({ from: NOW - 1440 * DAY, granularity: 'day' });
    assert.equal(queries.length, 3);
    await rejectsOn(
      service.report({ from: NOW - DAY - 60_000, granularity: 'minute' }),
      'query/granularity',
    );
    await rejectsOn(service.report({ from: NOW - 61 * DAY }), 'query/granularity');
    await rejectsOn(
      service.report({ from: NOW - 1441 * DAY, granularity: 'day' }),
      'query/granularity',
    );
    assert.equal(queries.length, 3);
  });
});
