import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import { manualClock } from '../../clock/index.ts';
import { openSqliteStore, type Store } from '../../store/index.ts';
import type { UsageEvent } from '../../usage/index.ts';
import { UsageService } from '../../usage/index.ts';
import { usageEvent } from '../../usage/testing/events.ts';
import { handleError } from '../problem.ts';
import { compileValidator } from '../validator.ts';
import { usageRoutes } from './usage.ts';

const NOW = Date.UTC(2030, 0, 2, 12, 30);
const HOUR = 3_600_000;

const event = (overrides: Partial<UsageEvent>): UsageEvent =>
  usageEvent({ at: NOW - HOUR, latencyMs: 4, ...overrides });

/**
 * The route on its own Fastify instance with the app's validator and error handler: the
 * test node's app is already `ready()`, and the management-auth hook belongs to the lead.
 */
describe('GET /v1/usage', () => {
  let store: Store;
  let app: FastifyInstance;
  const scopes: Array<{ method: unknown; url: string; scope: unknown }> = [];

  before(async () => {
    store = await openSqliteStore(':memory:');
    await store.usage.insertBatch([
      event({ at: NOW - 2 * HOUR, latencyMs: 2 }),
      event({ at: NOW - 2 * HOUR + 1, latencyMs: 6, outcome: 'RATE_LIMITED', status: 429 }),
      event({ at: NOW - HOUR, keyId: 'key_B', tokensIn: 3, tokensOut: 4, costMicros: 50 }),
      event({ at: NOW - 30 * HOUR }), // outside the default 24 h
    ]);
    const fastify = Fastify().withTypeProvider<TypeBoxTypeProvider>();
    fastify.setValidatorCompiler(compileValidator);
    fastify.setErrorHandler(handleError);
    fastify.addHook('onRoute', (route) => {
      scopes.push({ method: route.method, url: route.url, scope: route.config?.managementScope });
    });
    await fastify.register(
      usageRoutes(new UsageService({ usage: store.usage, clock: manualClock(NOW) })),
    );
    await fastify.ready();
    app = fastify as unknown as FastifyInstance;
  });
  after(async () => {
    await app.close();
    await store.close();
  });

  const get = (query: string) => app.inject({ method: 'GET', url: `/v1/usage${query}` });

  test('is guarded by the usage:read management scope', () => {
    assert.deepEqual(
      scopes.filter((s) => s.method === 'GET'),
      [{ method: 'GET', url: '/v1/usage', scope: 'usage:read' }],
    );
  });

  test('200: the last 24 hours by hour by default', async () => {
    const res = await get('');
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), {
      granularity: 'hour',
      from: new Date(NOW - 24 * HOUR).toISOString(),
      to: new Date(NOW).toISOString(),
      data: [
        {
          start: '2030-01-02T10:00:00.000Z',
          count: 2,
          cost: 2,
          tokensIn: 0,
          tokensOut: 0,
          costMicros: 0,
          costUsd: '0.000000',
          unpriced: 0,
          latencyMsAvg: 4,
        },
        {
          start: '2030-01-02T11:00:00.000Z',
          count: 1,
          cost: 1,
          tokensIn: 3,
          tokensOut: 4,
          costMicros: 50,
          costUsd: '0.000050',
          unpriced: 0,
          latencyMsAvg: 4,
        },
      ],
    });
  });

  test('200: filters, explicit range, granularity and groupBy=outcome', async () => {
    const from = new Date(NOW - 48 * HOUR).toISOString();
    const to = new Date(NOW).toISOString();
    const res = await get(`?keyId=key_A&from=${from}&to=${to}&granularity=day&groupBy=outcome`);
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.equal(body.granularity, 'day');
    assert.deepEqual(
      body.data.map((b: { start: string; outcome: string; count: number }) => [
        b.start,
        b.outcome,
        b.count,
      ]),
      [
        ['2030-01-01T00:00:00.000Z', 'VALID', 1],
        ['2030-01-02T00:00:00.000Z', 'RATE_LIMITED', 1],
        ['2030-01-02T00:00:00.000Z', 'VALID', 1],
      ],
    );
    const limited = (await get('?outcome=RATE_LIMITED&ownerId=user_1&env=prod')).json();
    assert.deepEqual(
      limited.data.map((b: { count: number }) => b.count),
      [1],
    );
  });

  test('400: from not before to, names the field', async () => {
    const at = new Date(NOW).toISOString();
    const res = await get(`?from=${at}&to=${at}`);
    assert.equal(res.statusCode, 400);
    assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
    const body = res.json();
    assert.equal(body.code, 'VALIDATION_FAILED');
    assert.deepEqual(body.errors, [{ field: 'query/from', message: 'must be before `to`' }]);
  });

  test('400: more than 1,440 buckets', async () => {
    const from = new Date(NOW - 25 * HOUR).toISOString();
    const res = await get(`?from=${from}&granularity=minute`);
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().errors[0].field, 'query/granularity');
    assert.equal((await get('?granularity=minute')).statusCode, 200, '24 h of minutes is fine');
  });

  test('400: bad values and unknown parameters', async () => {
    for (const query of [
      '?granularity=week',
      '?from=yesterday',
      '?to=2030-13-01T00:00:00Z',
      '?outcome=FINE',
      '?groupBy=key',
      '?env=PROD',
      '?limit=5',
    ]) {
      const res = await get(query);
      assert.equal(res.statusCode, 400, query);
      assert.equal(res.json().code, 'VALIDATION_FAILED', query);
    }
  });
});

describe('GET /v1/usage?project=: a project by name or id', () => {
  test('the name, as keys list takes it; an unknown project is a 404, not an empty answer', async () => {
    const { startTestNode } = await import('../../testing/harness.ts');
    const node = await startTestNode();
    try {
      const project = await node.request({
        method: 'POST',
        url: '/v1/projects',
        payload: { name: 'orders', prefix: 'ord' },
      });
      assert.equal(project.statusCode, 201, project.body);
      const { key } = await node.createKey({ project: 'orders' });
      const verified = await node.request({ method: 'POST', url: '/v1/verify', payload: { key } });
      assert.equal(verified.json().code, 'VALID');
      await node.kw.usage.flush();
      const total = (url: string) =>
        node
          .request({ method: 'GET', url })
          .then((res) =>
            res.json().data.reduce((n: number, b: { count: number }) => n + b.count, 0),
          );
      assert.equal(await total('/v1/usage?project=orders'), 1);
      assert.equal(await total(`/v1/usage?project=${project.json().id}`), 1);
      const unknown = await node.request({ method: 'GET', url: '/v1/usage?project=nope' });
      assert.equal(unknown.statusCode, 404, unknown.body);
    } finally {
      await node.close();
    }
  });
});
