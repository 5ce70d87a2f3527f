import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateKey } from '@keywarden/core';
import { startTestNode } from '../testing/harness.ts';
import { requestIdFor } from './request-id.ts';

test('a caller’s short safe x-request-id is kept, for tracing across services', () => {
  assert.equal(requestIdFor('abc-123'), 'abc-123');
  assert.equal(requestIdFor('trace.1:2_3'), 'trace.1:2_3');
  assert.match(requestIdFor('a b'), /^req_/);
  assert.match(requestIdFor(['a', 'b']), /^req_/);
  assert.match(requestIdFor(undefined), /^req_/);
});

/**
 * A request id is logged with every line of its request and echoed in the answer and in
 * problem+json: a key (or any secret) sent as one must not become it, however safe its
 * characters (the secrets-at-rest sweep found one in the logs this way).
 */
test('a key or secret sent as x-request-id is replaced, not logged or echoed', async () => {
  const key = generateKey({ prefix: 'kw', env: 'prod' });
  for (const secret of [key, `${key.slice(0, -1)}x`, `ghp_${'a'.repeat(36)}`]) {
    assert.match(requestIdFor(secret), /^req_/, secret.slice(0, 8));
  }
  const node = await startTestNode();
  try {
    const { key: real } = await node.createKey();
    const res = await node.request({
      method: 'GET',
      url: '/v1/nothing',
      headers: { 'x-request-id': real },
    });
    assert.equal(res.statusCode, 404);
    assert.match(String(res.headers['x-request-id']), /^req_/);
    assert.ok(!res.body.includes(real), 'not in the problem+json');
    await node.request({ method: 'GET', url: '/v1/keys', headers: { 'x-request-id': real } });
    assert.ok(!node.logs.join('').includes(real), 'not in the logs');
  } finally {
    await node.close();
  }
});
