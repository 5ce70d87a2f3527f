import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestNode, type TestNode } from '../../testing/harness.ts';

describe('health, readiness and the OpenAPI document', () => {
  let node: TestNode;
  before(async () => {
    node = await startTestNode();
  });
  after(() => node.close());

  test('/healthz and /readyz answer without a key', async () => {
    assert.equal((await node.app.inject({ url: '/healthz' })).statusCode, 200);
    const ready = await node.app.inject({ url: '/readyz' });
    assert.deepEqual(ready.json(), {
      status: 'ready',
      store: 'sqlite',
      limiter: 'local',
      invalidation: 'local',
    });
  });

  test('/readyz answers 503 when the store does not', async () => {
    const ping = node.kw.store.ping;
    node.kw.store.ping = async () => {
      throw new Error('down');
    };
    try {
      const res = await node.app.inject({ url: '/readyz' });
      assert.equal(res.statusCode, 503);
      assert.equal(res.json().code, 'SERVICE_UNAVAILABLE');
    } finally {
      node.kw.store.ping = ping;
    }
  });

  test('/metrics: Prometheus text with verification outcomes and the usage buffer, behind metrics:read', async () => {
    const { key } = await node.createKey();
    await node.app.inject({ url: '/v1/auth', headers: { 'x-api-key': key } });
    await node.app.inject({ url: '/v1/auth', headers: { 'x-api-key': 'nope' } });
    assert.equal((await node.app.inject({ url: '/metrics' })).statusCode, 401);
    const res = await node.request({
      method: 'GET',
      url: '/metrics',
      key: await node.managementKey(['metrics:read']),
    });
    assert.equal(res.statusCode, 200);
    assert.match(
      res.body,
      /keywarden_verifications_total\{entry_point="forward-auth",code="VALID"\} 1/,
    );
    assert.match(
      res.body,
      /keywarden_verifications_total\{entry_point="forward-auth",code="MALFORMED"\} 1/,
    );
    assert.match(res.body, /keywarden_usage_events_buffered \d+/);
    assert.match(res.body, /keywarden_usage_backpressure_waits 0/);
    assert.ok(!res.body.includes(key));
  });

  test('/openapi.json is generated from the route schemas and marks the secret field', async () => {
    const doc = (await node.app.inject({ url: '/openapi.json' })).json();
    assert.equal(doc.openapi, '3.1.0');
    for (const path of [
      '/v1/keys',
      '/v1/keys/{id}',
      '/v1/keys/{id}/revoke',
      '/v1/verify',
      '/v1/auth',
      '/v1/projects',
      '/v1/audit',
    ]) {
      assert.ok(doc.paths[path], path);
    }
    assert.ok(doc.paths['/v1/keys'].post.requestBody);
    assert.match(
      JSON.stringify(doc.paths['/v1/keys'].post.responses['201']),
      /"x-keywarden-secret":true/,
    );
  });
});
