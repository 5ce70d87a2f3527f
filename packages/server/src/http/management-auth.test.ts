import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { parseScope } from '@keywarden/core';
import { CLI_ACTOR } from '../audit/index.ts';
import { manualClock } from '../clock/index.ts';
import { startTestNode, type TestNode } from '../testing/harness.ts';

/**
 * Walks every management route with no key, a malformed key, an API key, and management keys
 * at every level on the route's own resource and on another one; checks 401, 403 and 2xx.
 * A route added without a scope, or with the wrong one, fails here.
 */
describe('management routes: every route × every credential', () => {
  let node: TestNode;
  before(async () => {
    node = await startTestNode();
  });
  after(() => node.close());

  let counter = 0;
  /** A request that succeeds (2xx) for a caller with enough scope. */
  async function validRequest(method: string, url: string) {
    counter++;
    const fresh = () => node.createKey({ name: `walk ${counter}` });
    switch (`${method} ${url}`) {
      case 'POST /v1/keys':
        return { url, payload: { name: `walk ${counter}` } };
      case 'GET /v1/keys':
      case 'GET /v1/projects':
      case 'GET /v1/upstreams':
      case 'GET /v1/audit':
      case 'GET /v1/owners':
      case 'GET /v1/usage':
      case 'GET /metrics':
        return { url };
      case 'POST /v1/verify':
        return { url, payload: { key: (await fresh()).key } };
      case 'POST /v1/projects':
        return { url, payload: { name: `walk-${counter}`, prefix: `walk${counter}` } };
      case 'GET /v1/projects/:id':
        return { url: '/v1/projects/default' };
      case 'PATCH /v1/projects/:id':
        return { url: '/v1/projects/default', payload: { allowQueryKey: false } };
      case 'DELETE /v1/projects/:id': {
        const res = await node.request({
          method: 'POST',
          url: '/v1/projects',
          payload: { name: `gone-${counter}`, prefix: `gone${counter}` },
        });
        return { url: `/v1/projects/${res.json().id}` };
      }
      case 'PUT /v1/owners/:id':
        return { url: `/v1/owners/walk-${counter}`, payload: { ratelimits: [] } };
      case 'GET /v1/owners/:id':
      case 'DELETE /v1/owners/:id': {
        await node.kw.ownerService.set(`walk-${counter}`, { ratelimits: [] }, CLI_ACTOR);
        return { url: `/v1/owners/walk-${counter}` };
      }
      case 'POST /v1/keys/bulk/revoke':
      case 'POST /v1/keys/bulk/rotate':
        return { url, payload: { filter: { ownerId: `nobody-${counter}` } } };
      case 'GET /v1/admin-keys':
        return { url };
      case 'POST /v1/admin-keys/:id/revoke':
        return {
          url: `/v1/admin-keys/${(await node.kw.keys.create({ name: `walk ${counter}` }, CLI_ACTOR, 'management')).record.id}/revoke`,
        };
      case 'POST /v1/upstreams':
        return {
          url,
          payload: { name: `walk-${counter}`, type: 'http', baseUrl: 'http://127.0.0.1:9' },
        };
      case 'GET /v1/upstreams/:id':
      case 'PATCH /v1/upstreams/:id':
      case 'DELETE /v1/upstreams/:id': {
        const upstream = await node.kw.upstreams.create(
          { name: `walk-${counter}`, type: 'http', baseUrl: 'http://127.0.0.1:9' },
          CLI_ACTOR,
        );
        return {
          url: `/v1/upstreams/${upstream.name}`,
          payload: method === 'PATCH' ? { timeouts: { connectMs: 1000 } } : undefined,
        };
      }
      case 'PATCH /v1/keys/:id':
        return { url: `/v1/keys/${(await fresh()).id}`, payload: { name: 'renamed' } };
      default: {
        if (url.startsWith('/v1/keys/:id')) return { url: url.replace(':id', (await fresh()).id) };
        throw new Error(`no fixture for ${method} ${url}: add one`);
      }
    }
  }

  test('the route table is complete and every route names a scope', () => {
    const routes = node.app.managementRoutes.map((r) => `${r.method} ${r.url}`).sort();
    assert.deepEqual(routes, [
      'DELETE /v1/keys/:id',
      'DELETE /v1/owners/:id',
      'DELETE /v1/projects/:id',
      'DELETE /v1/upstreams/:id',
      'GET /metrics',
      'GET /v1/admin-keys',
      'GET /v1/audit',
      'GET /v1/keys',
      'GET /v1/keys/:id',
      'GET /v1/owners',
      'GET /v1/owners/:id',
      'GET /v1/projects',
      'GET /v1/projects/:id',
      'GET /v1/upstreams',
      'GET /v1/upstreams/:id',
      'GET /v1/usage',
      'PATCH /v1/keys/:id',
      'PATCH /v1/projects/:id',
      'PATCH /v1/upstreams/:id',
      'POST /v1/admin-keys/:id/revoke',
      'POST /v1/keys',
      'POST /v1/keys/:id/disable',
      'POST /v1/keys/:id/enable',
      'POST /v1/keys/:id/revoke',
      'POST /v1/keys/:id/rotate',
      'POST /v1/keys/bulk/revoke',
      'POST /v1/keys/bulk/rotate',
      'POST /v1/projects',
      'POST /v1/upstreams',
      'POST /v1/verify',
      'PUT /v1/owners/:id',
    ]);
  });

  test('each route answers 401, 403 and 2xx to the right callers', async () => {
    const levels = ['read', 'write', 'admin'] as const;
    const rank = { read: 0, write: 1, admin: 2 };
    const apiKey = (await node.createKey({ scopes: ['admin'] })).key;
    for (const route of node.app.managementRoutes) {
      const required = parseScope(route.scope)!;
      const label = `${route.method} ${route.url} (${route.scope})`;
      const inject = async (key: string | null) => {
        const { url, payload } = await validRequest(route.method, route.url);
        return node.request({ method: route.method as 'GET', url, payload, key });
      };

      for (const [key, code] of [
        [null, 'MISSING'],
        ['kwadmin_mgmt_notakey', 'MALFORMED'],
        [apiKey, 'NOT_FOUND'],
      ] as const) {
        const res = await inject(key);
        assert.equal(res.statusCode, 401, `${label} with ${code}`);
        assert.equal(res.json().code, code, label);
        assert.ok(res.headers['www-authenticate'], label);
      }

      for (const level of levels) {
        const own = await inject(await node.managementKey([`${required.resource}:${level}`]));
        const allowed = rank[level] >= rank[required.level];
        if (allowed)
          assert.ok(
            own.statusCode >= 200 && own.statusCode < 300,
            `${label} with ${level}: ${own.statusCode} ${own.body}`,
          );
        else {
          assert.equal(own.statusCode, 403, `${label} with ${level}`);
          assert.equal(own.json().code, 'INSUFFICIENT_SCOPE');
        }
        const other = await inject(await node.managementKey([`unrelated:${level}`]));
        assert.equal(other.statusCode, 403, `${label} with unrelated:${level}`);
      }
      const bare = await inject(await node.managementKey(['admin']));
      assert.ok(bare.statusCode < 300, `${label} with bare admin`);
      const star = await inject(await node.managementKey([`*:${required.level}`]));
      assert.ok(star.statusCode < 300, `${label} with *:${required.level}`);
    }
  });

  test('a revoked management key is refused at once', async () => {
    const key = await node.managementKey(['admin']);
    assert.equal((await node.request({ method: 'GET', url: '/v1/keys', key })).statusCode, 200);
    const [record] = await node.kw.store.keys.list({ kind: 'management', limit: 1 });
    assert.ok(record);
    await node.kw.store.keys.update(record.id, { status: 'revoked' });
    await node.kw.invalidation.publish({ type: 'key', keyId: record.id });
    const res = await node.request({ method: 'GET', url: '/v1/keys', key });
    assert.equal(res.statusCode, 401);
    assert.equal(res.json().code, 'REVOKED');
  });

  test('a denied action is written to the audit log with the actor and route', async () => {
    const key = await node.managementKey(['keys:read']);
    const res = await node.request({
      method: 'POST',
      url: '/v1/keys',
      payload: { name: 'x' },
      key,
    });
    assert.equal(res.statusCode, 403);
    const audit = await node.request({
      method: 'GET',
      url: '/v1/audit?action=auth.denied&limit=1',
    });
    const [entry] = audit.json().data;
    assert.equal(entry.result, 'denied');
    assert.equal(entry.targetId, 'POST /v1/keys');
    assert.deepEqual(entry.details, { required: 'keys:write', code: 'INSUFFICIENT_SCOPE' });
  });
});

describe('refused management calls: a bounded trace', () => {
  const clock = manualClock();
  let node: TestNode;
  before(async () => {
    node = await startTestNode({ clock });
  });
  after(() => node.close());

  const deniedRows = async () =>
    (await node.kw.store.audit.list({ result: 'denied', limit: 10_000 })).filter((e) =>
      e.action.startsWith('auth.denied'),
    );

  test('a flood of 403s writes a bounded number of audit rows that name the key and count', async () => {
    const key = await node.managementKey(['keys:read']);
    const managementKeys = await node.kw.store.keys.list({ kind: 'management', limit: 10 });
    const record = managementKeys.find((k) => k.name === 'mgmt keys:read');
    assert.ok(record);
    const flood = 400;
    for (let i = 0; i < flood; i++) {
      const res = await node.request({
        method: 'POST',
        url: '/v1/keys',
        payload: { name: 'x' },
        key,
      });
      assert.equal(res.statusCode, 403);
      clock.advance(10);
    }
    assert.equal((await deniedRows()).length, 1, 'only the first refusal is written at once');

    // The window ends: the next refusal closes it with one aggregate row.
    clock.advance(60_000);
    await node.request({ method: 'POST', url: '/v1/keys', payload: { name: 'x' }, key });
    const rows = await deniedRows();
    assert.ok(rows.length <= 3, `${rows.length} rows for ${flood + 1} refusals`);
    const aggregate = rows.find((r) => r.action === 'auth.denied.repeated');
    assert.ok(aggregate, 'an aggregate row');
    assert.equal(aggregate.actorId, record.id, 'it names the key that tried');
    assert.equal(aggregate.targetId, 'POST /v1/keys');
    assert.equal(aggregate.details.count, flood - 1);
    assert.deepEqual(aggregate.details.ips, ['127.0.0.1']);
    assert.match(String(aggregate.details.summary), /^399 more refusals between .* and /);

    const metrics = await node.request({ method: 'GET', url: '/metrics' });
    assert.match(
      metrics.body,
      /keywarden_management_refusals_total\{route="POST \/v1\/keys",code="INSUFFICIENT_SCOPE"\} 401/,
    );
    const warnings = node.logs.filter((line) => line.includes('management call refused'));
    assert.ok(warnings.length <= 3, `${warnings.length} log lines`);
  });

  test('closing the node writes the aggregate of an open window', async () => {
    const other = await startTestNode({ clock });
    const key = await other.managementKey(['owners:read']);
    for (let i = 0; i < 5; i++)
      await other.request({
        method: 'PUT',
        url: '/v1/owners/o1',
        payload: { ratelimits: [] },
        key,
      });
    await other.app.close();
    const rows = await other.kw.store.audit.list({ action: 'auth.denied.repeated', limit: 10 });
    await other.kw.close();
    rmSync(other.dataDir, { recursive: true, force: true });
    assert.equal(rows.length, 1);
    assert.equal(rows[0]?.details.count, 4);
  });
});
