import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestNode, type TestNode } from '../../testing/harness.ts';

describe('POST /v1/verify', () => {
  let node: TestNode;
  before(async () => {
    node = await startTestNode();
  });
  after(() => node.close());

  const verify = (payload: unknown) =>
    node.request({ method: 'POST', url: '/v1/verify', payload: payload as object });

  test('200 valid with the key facts the caller needs', async () => {
    const { id, key } = await node.createKey({
      name: 'svc',
      env: 'prod',
      scopes: ['billing:write'],
      ownerId: 'o1',
      meta: { plan: 'pro' },
    });
    const res = await verify({ key, scopes: ['billing:read'], env: 'prod' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), {
      valid: true,
      code: 'VALID',
      keyId: id,
      name: 'svc',
      projectId: res.json().projectId,
      env: 'prod',
      scopes: ['billing:write'],
      ownerId: 'o1',
      meta: { plan: 'pro' },
      expiresAt: null,
    });
  });

  test('401 without a management key says the management key is missing, not the key in the body', async () => {
    const { key } = await node.createKey();
    const none = await node.request({
      method: 'POST',
      url: '/v1/verify',
      payload: { key },
      key: null,
    });
    assert.equal(none.statusCode, 401);
    assert.equal(none.json().code, 'MISSING');
    assert.match(
      none.json().detail,
      /no management key was presented: the key in the body is the one being checked/,
    );
    assert.match(none.json().detail, /Authorization: Bearer/);
    // An API key where the management key goes: told it is not one.
    const apiKey = await node.request({ method: 'POST', url: '/v1/verify', payload: { key }, key });
    assert.equal(apiKey.statusCode, 401);
    assert.match(apiKey.json().detail, /not a management key/);
    assert.ok(!apiKey.body.includes(key), 'the key is not echoed');
  });

  test('200 with the rejection code in the body, and the missing scopes', async () => {
    const { key } = await node.createKey({ scopes: ['billing:read'] });
    const scope = (await verify({ key, scopes: ['billing:write'] })).json();
    assert.equal(scope.valid, false);
    assert.equal(scope.code, 'INSUFFICIENT_SCOPE');
    assert.deepEqual(scope.missingScopes, ['billing:write']);
    assert.equal((await verify({ key: 'garbage' })).json().code, 'MALFORMED');
    assert.equal((await verify({ key: '' })).json().code, 'MISSING');
    const env = await verify({ key, env: 'prod' });
    assert.equal(env.json().code, 'WRONG_ENV');
  });

  test('an IP allowlist fails closed when the caller does not pass the client ip', async () => {
    const { key } = await node.createKey({ allowedIps: ['192.0.2.0/24'] });
    assert.equal((await verify({ key })).json().code, 'IP_NOT_ALLOWED');
    assert.equal((await verify({ key, ip: '192.0.2.10' })).json().code, 'VALID');
  });

  test('400 on bad input, never a verdict', async () => {
    for (const payload of [
      {},
      { key: 5 },
      { key: 'x', extra: 1 },
      { key: 'x', scopes: 'read' },
      { key: 'x'.repeat(600) },
    ]) {
      const res = await verify(payload);
      assert.equal(res.statusCode, 400, JSON.stringify(payload).slice(0, 60));
    }
  });

  test('last-used time and address are recorded off the request path', async () => {
    const { id, key } = await node.createKey();
    await verify({ key, ip: '198.51.100.7' });
    await node.kw.lastUsed.flush();
    const shown = (await node.request({ method: 'GET', url: `/v1/keys/${id}` })).json();
    assert.ok(shown.lastUsedAt);
    assert.equal(shown.lastUsedIp, '198.51.100.7');
  });
});
