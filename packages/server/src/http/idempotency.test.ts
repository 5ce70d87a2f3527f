import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestNode, type TestNode } from '../testing/harness.ts';
import { canonicalJson } from './canonical-json.ts';
import { idempotencyScope } from './idempotency.ts';

test('canonicalJson: keys sorted at every level, arrays in order, undefined left out', () => {
  assert.equal(
    canonicalJson({ b: 1, a: { d: [2, { z: 1, y: undefined, x: null }], c: 'é' } }),
    '{"a":{"c":"é","d":[2,{"x":null,"z":1}]},"b":1}',
  );
  assert.equal(canonicalJson({ a: 1, b: 2 }), canonicalJson({ b: 2, a: 1 }));
  assert.equal(canonicalJson(null), 'null');
  assert.equal(canonicalJson('x'), '"x"');
});

describe('Idempotency-Key: one request, however it is spelled; never a revoked key again', () => {
  let node: TestNode;
  before(async () => {
    node = await startTestNode();
  });
  after(() => node.close());

  let n = 0;
  const create = (url: string, payload: string, idempotencyKey: string) =>
    node.request({
      method: 'POST',
      url,
      payload,
      headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
    });
  const owned = async (ownerId: string) =>
    (await node.request({ method: 'GET', url: `/v1/keys?ownerId=${ownerId}` })).json().data.length;

  test('a trailing slash is the same route: the retry replays, no second key', async () => {
    const owner = `slash-${++n}`;
    const payload = JSON.stringify({ name: 'x', ownerId: owner });
    const first = await create('/v1/keys', payload, `idem-slash-${n}`);
    const second = await create('/v1/keys/', payload, `idem-slash-${n}`);
    assert.equal(first.statusCode, 201);
    assert.equal(second.statusCode, 201);
    assert.equal(second.headers['idempotent-replayed'], 'true');
    assert.equal(second.json().key, first.json().key);
    assert.equal(await owned(owner), 1);
  });

  test('the same body with its fields in another order is the same request', async () => {
    const owner = `order-${++n}`;
    const first = await create(
      '/v1/keys',
      JSON.stringify({ name: 'x', ownerId: owner, meta: { a: 1, b: 2 } }),
      `idem-order-${n}`,
    );
    const second = await create(
      '/v1/keys',
      `{ "meta": {"b":2,"a":1}, "ownerId": "${owner}",  "name": "x" }`,
      `idem-order-${n}`,
    );
    assert.equal(first.statusCode, 201);
    assert.equal(second.statusCode, 201, second.body);
    assert.equal(second.json().key, first.json().key);
    assert.equal(await owned(owner), 1);
    const other = await create(
      '/v1/keys',
      JSON.stringify({ name: 'y', ownerId: owner }),
      `idem-order-${n}`,
    );
    assert.equal(other.statusCode, 422, 'another body is still refused');
  });

  for (const action of ['DELETE', 'revoke'] as const) {
    test(`after ${action}, a replay never returns the key's plaintext again`, async () => {
      const payload = JSON.stringify({ name: 'gone' });
      const first = await create('/v1/keys', payload, `idem-${action}-${++n}`);
      assert.equal(first.statusCode, 201);
      const { id, key } = first.json();
      const gone =
        action === 'DELETE'
          ? await node.request({ method: 'DELETE', url: `/v1/keys/${id}` })
          : await node.request({ method: 'POST', url: `/v1/keys/${id}/revoke` });
      assert.ok(gone.statusCode < 300);
      const replay = await create('/v1/keys', payload, `idem-${action}-${n}`);
      assert.equal(replay.statusCode, 409, replay.body);
      assert.equal(replay.json().code, 'KEY_STATE_CONFLICT');
      assert.ok(!replay.body.includes(key));
      // The sealed answer is gone too, not merely withheld.
      const admins = await node.kw.store.keys.list({ kind: 'management', limit: 10 });
      const admin = admins.find((k) => k.name === 'test admin');
      assert.ok(admin);
      const scope = idempotencyScope(admin.id, 'POST', '/v1/keys', {});
      const stored = createHash('sha256').update(`idem-${action}-${n}`).digest('hex');
      assert.equal(await node.kw.store.idempotency.find(scope, stored), null);
    });
  }

  test('the header itself is not stored', async () => {
    const header = `idem-stored-${++n}-${Math.random().toString(36).slice(2)}`;
    await create('/v1/keys', JSON.stringify({ name: 'x' }), header);
    for (const file of readdirSync(node.dataDir).filter((f) => f.includes('.db')))
      assert.equal(readFileSync(join(node.dataDir, file)).includes(header), false, file);
  });
});
