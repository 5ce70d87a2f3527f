import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { checkKeyFormat } from '@keywarden/core';
import { startTestNode, type TestNode } from '../../testing/harness.ts';

describe('key management API', () => {
  let node: TestNode;
  before(async () => {
    node = await startTestNode();
  });
  after(() => node.close());

  test('201: the plaintext comes once, well-formed, with least-privilege defaults', async () => {
    const res = await node.request({
      method: 'POST',
      url: '/v1/keys',
      payload: { name: 'orders service' },
    });
    assert.equal(res.statusCode, 201);
    assert.equal(res.headers['cache-control'], 'no-store');
    const body = res.json();
    assert.equal(checkKeyFormat(body.key).ok, true);
    assert.match(body.key, /^kw_dev_/);
    assert.deepEqual(body.scopes, []);
    assert.equal(body.env, 'dev');
    assert.equal(body.status, 'active');
    assert.equal(body.expiresAt, null);
    assert.equal(body.hash, undefined);
    assert.equal(body.display, `kw_dev_…${body.key.slice(-5)}`);

    const shown = await node.request({ method: 'GET', url: `/v1/keys/${body.id}` });
    assert.equal(shown.statusCode, 200);
    assert.equal(shown.json().key, undefined);
    assert.ok(!shown.body.includes(body.key));
    const listed = await node.request({ method: 'GET', url: '/v1/keys' });
    assert.ok(!listed.body.includes(body.key));
  });

  test('201: every field is kept', async () => {
    const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
    const res = await node.request({
      method: 'POST',
      url: '/v1/keys',
      payload: {
        name: 'billing',
        env: 'prod',
        scopes: ['billing:write', 'orders:read'],
        expiresAt,
        ownerId: 'team-billing',
        meta: { tier: 'gold' },
        allowedIps: ['10.0.0.0/8', '2001:db8::/32'],
      },
    });
    assert.equal(res.statusCode, 201);
    const body = res.json();
    assert.match(body.key, /^kw_prod_/);
    assert.equal(body.expiresAt, expiresAt);
    assert.deepEqual(body.meta, { tier: 'gold' });
    assert.deepEqual(body.allowedIps, ['10.0.0.0/8', '2001:db8::/32']);
    assert.equal(body.ownerId, 'team-billing');
  });

  test('400 names the field: bad scope, bad CIDR, past expiry, unknown env, unknown project', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ name: 'x', scopes: ['billing:superuser'] }, '/scopes/0'],
      [{ name: 'x', allowedIps: ['10.0.0.0/33'] }, '/allowedIps/0'],
      [{ name: 'x', expiresAt: '2001-01-01T00:00:00Z' }, '/expiresAt'],
      [{ name: 'x', env: 'qa' }, '/env'],
      [{ name: 'x', project: 'nope' }, '/project'],
      [{ name: 'x', meta: { big: 'x'.repeat(9000) } }, '/meta'],
    ];
    for (const [payload, field] of cases) {
      const res = await node.request({ method: 'POST', url: '/v1/keys', payload });
      assert.equal(res.statusCode, 400, JSON.stringify(payload).slice(0, 80));
      const body = res.json();
      assert.equal(body.code, 'VALIDATION_FAILED');
      assert.equal(body.errors[0].field, field);
    }
  });

  test('400 for wrong types, missing and unknown fields (no coercion, nothing dropped silently)', async () => {
    const cases: Array<[unknown, string]> = [
      [{ name: 5 }, 'body/name'],
      [{}, 'body/name'],
      [{ name: 'x', scopes: 'read' }, 'body/scopes'],
      [{ name: 'x', isAdmin: true }, 'body/isAdmin'],
      [{ name: 'x', expiresAt: 'tomorrow' }, 'body/expiresAt'],
      [[1, 2], 'body'],
    ];
    for (const [payload, field] of cases) {
      const res = await node.request({
        method: 'POST',
        url: '/v1/keys',
        payload: payload as object,
      });
      assert.equal(res.statusCode, 400, JSON.stringify(payload));
      assert.equal(res.json().errors[0].field.startsWith(field), true, `${field} in ${res.body}`);
    }
  });

  test('a key pasted into a name or metadata is stored redacted, never in plaintext', async () => {
    const leaked = (await node.createKey()).key;
    const res = await node.request({
      method: 'POST',
      url: '/v1/keys',
      payload: { name: `copy of ${leaked}`, meta: { notes: [leaked] } },
    });
    assert.equal(res.statusCode, 201);
    const body = res.json();
    assert.ok(!JSON.stringify(body.meta).includes(leaked));
    assert.ok(!body.name.includes(leaked));
    assert.match(body.name, /^copy of kw_dev_…/);
  });

  test('list: filters and cursor pagination walk every key once', async () => {
    const owner = `owner-${Date.now()}`;
    const ids = [];
    for (let i = 0; i < 7; i++)
      ids.push((await node.createKey({ ownerId: owner, env: i < 3 ? 'prod' : 'dev' })).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/v1/keys?ownerId=${owner}&limit=3${cursor ? `&cursor=${cursor}` : ''}`;
      const page = (await node.request({ method: 'GET', url })).json();
      assert.ok(page.data.length <= 3);
      seen.push(...page.data.map((k: { id: string }) => k.id));
      cursor = page.nextCursor;
    } while (cursor);
    assert.deepEqual(seen, [...ids].reverse());
    const prod = (
      await node.request({ method: 'GET', url: `/v1/keys?ownerId=${owner}&env=prod` })
    ).json();
    assert.equal(prod.data.length, 3);
    const bad = await node.request({ method: 'GET', url: '/v1/keys?cursor=%25%25' });
    assert.equal(bad.statusCode, 400);
    assert.equal(
      (await node.request({ method: 'GET', url: '/v1/keys?limit=1000' })).statusCode,
      400,
    );
    assert.equal(
      (await node.request({ method: 'GET', url: '/v1/keys?status=gone' })).statusCode,
      400,
    );
  });

  test('gateway fields: models, budgets (amounts in units, stored in micros) and token limits', async () => {
    const res = await node.request({
      method: 'POST',
      url: '/v1/keys',
      payload: {
        name: 'llm app',
        models: ['gpt-4o-mini', 'gpt-4o*', 'openai/o3:latest'],
        budgets: [
          { name: 'monthly', amount: 25, period: 'month' },
          { name: 'daily', amount: 8.2, period: 'day' },
          { name: 'tiny', amount: 0.000001, period: 'total' },
        ],
        ratelimits: [
          { name: 'rpm', limit: 60, windowSeconds: 60 },
          { name: 'tpm', limit: 100_000, windowSeconds: 60, unit: 'tokens' },
        ],
      },
    });
    assert.equal(res.statusCode, 201, res.body);
    const body = res.json();
    assert.deepEqual(body.models, ['gpt-4o-mini', 'gpt-4o*', 'openai/o3:latest']);
    assert.deepEqual(body.budgets, [
      { name: 'monthly', amount: 25, period: 'month' },
      { name: 'daily', amount: 8.2, period: 'day' },
      { name: 'tiny', amount: 0.000001, period: 'total' },
    ]);
    assert.equal(body.ratelimits[1].unit, 'tokens');
    const stored = await node.kw.store.keys.findById(body.id);
    assert.deepEqual(
      stored?.budgets?.map((b) => b.amountMicros),
      [25_000_000, 8_200_000, 1],
      'exact micros, no float drift (8.2 * 1e6 is 8199999.999999999)',
    );

    const plain = (
      await node.request({ method: 'GET', url: `/v1/keys/${(await node.createKey()).id}` })
    ).json();
    assert.equal(plain.models, null);
    assert.equal(plain.budgets, null);

    const patched = await node.request({
      method: 'PATCH',
      url: `/v1/keys/${body.id}`,
      payload: { models: null, budgets: [{ name: 'weekly', amount: 100.5, period: 'week' }] },
    });
    assert.equal(patched.statusCode, 200, patched.body);
    assert.equal(patched.json().models, null);
    assert.deepEqual(patched.json().budgets, [{ name: 'weekly', amount: 100.5, period: 'week' }]);
    assert.equal(patched.json().ratelimits.length, 2, 'fields not sent are kept');
    const cleared = await node.request({
      method: 'PATCH',
      url: `/v1/keys/${body.id}`,
      payload: { budgets: null },
    });
    assert.equal(cleared.json().budgets, null);

    const rotated = await node.request({ method: 'POST', url: `/v1/keys/${body.id}/rotate` });
    assert.equal(rotated.statusCode, 201, rotated.body);
    assert.equal(rotated.json().models, null);
    assert.equal(rotated.json().ratelimits[1].unit, 'tokens', 'rotation keeps gateway settings');
  });

  test('400 names the field for bad models, budgets and limit units', async () => {
    const budget = { name: 'b', amount: 1, period: 'month' };
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ models: [] }, 'body/models'],
      [{ models: ['gpt 4o'] }, 'body/models/0'],
      [{ models: ['x'.repeat(129)] }, 'body/models/0'],
      [{ models: Array.from({ length: 101 }, (_, i) => `m${i}`) }, 'body/models'],
      [{ budgets: [{ ...budget, amount: 0 }] }, 'body/budgets/0/amount'],
      [{ budgets: [{ ...budget, amount: -5 }] }, 'body/budgets/0/amount'],
      [{ budgets: [{ ...budget, amount: 1.0000001 }] }, '/budgets/0/amount'],
      [{ budgets: [{ ...budget, amount: '25' }] }, 'body/budgets/0/amount'],
      [{ budgets: [{ ...budget, amount: 1e10 }] }, 'body/budgets/0/amount'],
      [{ budgets: [{ ...budget, period: 'year' }] }, 'body/budgets/0/period'],
      [{ budgets: [{ ...budget, name: 'Monthly' }] }, 'body/budgets/0/name'],
      [{ budgets: [budget, { ...budget, amount: 2 }] }, '/budgets/1/name'],
      [
        { budgets: Array.from({ length: 11 }, (_, i) => ({ ...budget, name: `b${i}` })) },
        'body/budgets',
      ],
      [{ budgets: [{ ...budget, currency: 'EUR' }] }, 'body/budgets/0/currency'],
      [
        { ratelimits: [{ name: 'r', limit: 1, windowSeconds: 1, unit: 'bytes' }] },
        'body/ratelimits/0/unit',
      ],
    ];
    for (const [extra, field] of cases) {
      for (const [method, url] of [
        ['POST', '/v1/keys'],
        ['PATCH', `/v1/keys/${(await node.createKey()).id}`],
      ] as const) {
        const payload = method === 'POST' ? { name: 'x', ...extra } : extra;
        const res = await node.request({ method, url, payload });
        const label = `${method} ${JSON.stringify(extra).slice(0, 80)}`;
        assert.equal(res.statusCode, 400, `${label}: ${res.body}`);
        assert.equal(res.json().errors[0].field, field, label);
      }
    }
  });

  test('update changes what was sent; a revoked key cannot be changed or re-enabled', async () => {
    const { id } = await node.createKey({ scopes: ['read'], ownerId: 'a' });
    const res = await node.request({
      method: 'PATCH',
      url: `/v1/keys/${id}`,
      payload: { scopes: ['write'], expiresAt: null },
    });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json().scopes, ['write']);
    assert.equal(res.json().ownerId, 'a');
    assert.equal(
      (await node.request({ method: 'PATCH', url: `/v1/keys/${id}`, payload: {} })).statusCode,
      400,
    );
    assert.equal(
      (
        await node.request({
          method: 'POST',
          url: `/v1/keys/${id}/revoke`,
          payload: { reason: 'leaked' },
        })
      ).json().status,
      'revoked',
    );
    const again = await node.request({ method: 'POST', url: `/v1/keys/${id}/revoke` });
    assert.equal(again.statusCode, 200, 'revoking twice is idempotent');
    const patch = await node.request({
      method: 'PATCH',
      url: `/v1/keys/${id}`,
      payload: { name: 'x' },
    });
    assert.equal(patch.statusCode, 409);
    assert.equal(patch.json().code, 'KEY_STATE_CONFLICT');
    assert.equal(
      (await node.request({ method: 'POST', url: `/v1/keys/${id}/enable` })).statusCode,
      409,
    );
  });

  test('404 for unknown ids; management keys are not reachable through /v1/keys', async () => {
    for (const [method, suffix] of [
      ['GET', ''],
      ['PATCH', ''],
      ['DELETE', ''],
      ['POST', '/revoke'],
    ] as const) {
      const res = await node.request({
        method,
        url: `/v1/keys/key_01ZZZZZZZZZZZZZZZZZZZZZZZZ${suffix}`,
        ...(method === 'PATCH' && { payload: { name: 'x' } }),
      });
      assert.equal(res.statusCode, 404, `${method} ${suffix}`);
      assert.equal(res.json().code, 'RESOURCE_NOT_FOUND');
    }
    const [admin] = await node.kw.store.keys.list({ kind: 'management', limit: 1 });
    assert.equal(
      (await node.request({ method: 'GET', url: `/v1/keys/${admin!.id}` })).statusCode,
      404,
    );
    assert.equal(
      (await node.request({ method: 'POST', url: `/v1/keys/${admin!.id}/revoke` })).statusCode,
      404,
    );
    const list = (await node.request({ method: 'GET', url: '/v1/keys?limit=100' })).json();
    assert.ok(list.data.every((k: { display: string }) => !k.display.startsWith('kwadmin')));
  });

  test('a management key can be revoked through the API (admin), and stops at once', async () => {
    const key = await node.managementKey(['keys:read']);
    const [record] = await node.kw.store.keys.list({ kind: 'management', limit: 1 });
    assert.equal((await node.request({ method: 'GET', url: '/v1/keys', key })).statusCode, 200);
    const listed = (await node.request({ method: 'GET', url: '/v1/admin-keys' })).json().data;
    assert.ok(listed.some((k: { id: string }) => k.id === record!.id));
    const res = await node.request({
      method: 'POST',
      url: `/v1/admin-keys/${record!.id}/revoke`,
      payload: { reason: 'leaked' },
    });
    assert.equal(res.json().status, 'revoked');
    assert.equal(
      (await node.request({ method: 'GET', url: '/v1/keys', key })).json().code,
      'REVOKED',
    );
    assert.equal(
      (await node.request({ method: 'POST', url: `/v1/keys/${record!.id}/revoke` })).statusCode,
      404,
      'not through /v1/keys',
    );
  });

  test('delete removes the key: it no longer verifies', async () => {
    const { id, key } = await node.createKey();
    assert.equal(
      (await node.app.inject({ url: '/v1/auth', headers: { 'x-api-key': key } })).statusCode,
      200,
    );
    assert.equal((await node.request({ method: 'DELETE', url: `/v1/keys/${id}` })).statusCode, 204);
    const res = await node.app.inject({ url: '/v1/auth', headers: { 'x-api-key': key } });
    assert.equal(res.json().code, 'NOT_FOUND');
  });

  test('every change is audited in the same transaction, with actor, target, ip and result', async () => {
    const { id } = await node.createKey({ name: 'audited' });
    await node.request({ method: 'PATCH', url: `/v1/keys/${id}`, payload: { name: 'audited 2' } });
    await node.request({ method: 'POST', url: `/v1/keys/${id}/disable` });
    await node.request({ method: 'POST', url: `/v1/keys/${id}/enable` });
    await node.request({ method: 'POST', url: `/v1/keys/${id}/revoke` });
    await node.request({ method: 'DELETE', url: `/v1/keys/${id}` });
    const entries = (await node.request({ method: 'GET', url: `/v1/audit?targetId=${id}` })).json()
      .data;
    assert.deepEqual(
      entries.map((e: { action: string }) => e.action),
      ['key.delete', 'key.revoke', 'key.enable', 'key.disable', 'key.update', 'key.create'],
    );
    for (const e of entries) {
      assert.equal(e.result, 'success');
      assert.equal(e.ip, '127.0.0.1');
      assert.match(e.actorId, /^key_/);
      assert.match(e.actorDisplay, /^kwadmin_mgmt_…/);
      assert.match(e.requestId, /^req_/);
    }
  });

  test('a failed change writes neither the change nor an audit entry', async () => {
    const before = (await node.request({ method: 'GET', url: '/v1/audit?limit=1' })).json().data[0]
      .seq;
    const res = await node.request({
      method: 'POST',
      url: '/v1/keys',
      payload: { name: 'x', scopes: ['nope:nope'] },
    });
    assert.equal(res.statusCode, 400);
    const after = (await node.request({ method: 'GET', url: '/v1/audit?limit=1' })).json().data[0]
      .seq;
    assert.equal(after, before);
  });
});
