import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestNode, type TestNode } from '../testing/harness.ts';

/** Text fields refuse what is not text: control characters and lone surrogates (a 400 naming the field). */
describe('text fields', () => {
  let node: TestNode;
  let id: string;
  before(async () => {
    node = await startTestNode();
    id = (await node.createKey({ name: 'plain' })).id;
  });
  after(() => node.close());

  const send = (method: string, url: string, raw: string) =>
    node.request({
      method: method as 'POST',
      url,
      payload: raw,
      headers: { 'content-type': 'application/json' },
    });

  const cases: [string, () => string, string, string][] = [
    ['POST', () => '/v1/keys', '{"name":"a\\ud800b"}', 'body/name'],
    ['POST', () => '/v1/keys', '{"name":"a\\u0000b"}', 'body/name'],
    ['POST', () => '/v1/keys', '{"name":"two\\nlines"}', 'body/name'],
    ['POST', () => '/v1/keys', '{"name":"x","ownerId":"o\\u0000"}', 'body/ownerId'],
    ['POST', () => '/v1/keys', '{"name":"x","meta":{"note":"\\udc00"}}', 'body/meta/note'],
    ['POST', () => '/v1/keys', '{"name":"x","meta":{"a":{"k\\u0000":1}}}', 'body/meta/a'],
    ['PATCH', () => `/v1/keys/${id}`, '{"name":"\\u001b[31mred"}', 'body/name'],
    ['POST', () => `/v1/keys/${id}/revoke`, '{"reason":"\\ud83d"}', 'body/reason'],
    [
      'POST',
      () => '/v1/keys/bulk/revoke',
      '{"filter":{"ownerId":"\\u0007"}}',
      'body/filter/ownerId',
    ],
    [
      'POST',
      () => '/v1/upstreams',
      '{"name":"u1","type":"http","baseUrl":"http://10.0.0.5/\\u0000"}',
      'body/baseUrl',
    ],
  ];

  test('control characters and lone surrogates → 400 naming the field, nothing stored', async () => {
    for (const [method, url, raw, field] of cases) {
      const res = await send(method, url(), raw);
      assert.equal(res.statusCode, 400, `${raw}: ${res.body}`);
      assert.equal(res.json().code, 'VALIDATION_FAILED');
      assert.equal(res.json().errors[0].field, field, raw);
    }
    const keys = await node.kw.store.keys.list({ kind: 'api', limit: 100 });
    assert.deepEqual(
      keys.map((k) => k.name),
      ['plain'],
    );
  });

  test('an owner id in the path with a control character → 400 naming it', async () => {
    const res = await node.request({
      method: 'PUT',
      url: '/v1/owners/a%00b',
      payload: { ratelimits: [] },
    });
    assert.equal(res.statusCode, 400, res.body);
    assert.equal(res.json().errors[0].field, 'params/id');
  });

  test('paired surrogates, tabs and newlines in free text are fine', async () => {
    const res = await send(
      'POST',
      '/v1/keys',
      '{"name":"emoji \\ud83d\\ude00","meta":{"note":"line 1\\nline 2\\tend"}}',
    );
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(res.json().name, 'emoji 😀');
  });
});
