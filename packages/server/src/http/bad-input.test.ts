import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { startTestNode, type TestNode } from '../testing/harness.ts';

/** Bad input gets a clear 4xx problem+json naming what is wrong: never a 5xx, a hang or a crash. */
describe('bad input', () => {
  let node: TestNode;
  let base: string;
  before(async () => {
    node = await startTestNode();
    base = await node.app.listen({ host: '127.0.0.1', port: 0 });
  });
  after(() => node.close());

  const problem = (
    res: {
      statusCode: number;
      headers: Record<string, unknown>;
      json: () => { code: string; requestId: string };
    },
    status: number,
    code: string,
  ) => {
    assert.equal(res.statusCode, status);
    assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
    assert.equal(res.json().code, code);
    assert.match(res.json().requestId, /^req_/);
  };

  test('invalid JSON → 400 INVALID_JSON', async () => {
    for (const payload of ['{', '{"name": }', 'nul', '{"name":"x"}}']) {
      const res = await node.request({
        method: 'POST',
        url: '/v1/keys',
        payload,
        headers: { 'content-type': 'application/json' },
      });
      problem(res, 400, 'INVALID_JSON');
    }
  });

  test('invalid UTF-8 → 400 INVALID_UTF8, nothing stored', async () => {
    const payload = Buffer.concat([
      Buffer.from('{"name":"'),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('"}'),
    ]);
    const res = await node.request({
      method: 'POST',
      url: '/v1/keys',
      payload,
      headers: { 'content-type': 'application/json' },
    });
    problem(res, 400, 'INVALID_UTF8');
  });

  test('prototype poisoning → 400', async () => {
    const res = await node.request({
      method: 'POST',
      url: '/v1/keys',
      payload: '{"name":"x","__proto__":{"admin":true}}',
      headers: { 'content-type': 'application/json' },
    });
    problem(res, 400, 'INVALID_JSON');
  });

  test('deeply nested JSON → 400 INVALID_JSON, not a stack overflow; ordinary nesting is fine', async () => {
    const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
    for (const payload of [
      `{"name":"x","meta":{"a":${nested(5000)}}}`,
      `{"name":"x","meta":{"a":${nested(63)}}}`,
      nested(20_000),
    ]) {
      for (const headers of [{}, { 'idempotency-key': `deep-${payload.length}` }]) {
        const res = await node.request({
          method: 'POST',
          url: '/v1/keys',
          payload,
          headers: { 'content-type': 'application/json', ...headers },
        });
        problem(res, 400, 'INVALID_JSON');
      }
    }
    const ok = await node.request({
      method: 'POST',
      url: '/v1/keys',
      payload: `{"name":"x","meta":{"a":${nested(30)},"s":"[[[[{{{{\\""}}`,
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(ok.statusCode, 201, ok.body);
  });

  test('a body over the limit → 413', async () => {
    const res = await node.request({
      method: 'POST',
      url: '/v1/keys',
      payload: { name: 'x'.repeat(node.config.bodyLimitBytes) },
    });
    problem(res, 413, 'PAYLOAD_TOO_LARGE');
  });

  test('an unsupported content type → 415', async () => {
    const res = await node.request({
      method: 'POST',
      url: '/v1/keys',
      payload: 'name=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    problem(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  test('unknown routes → 404 problem+json; a bad query value → 400 naming it', async () => {
    problem(await node.request({ method: 'GET', url: '/v1/nothing' }), 404, 'ROUTE_NOT_FOUND');
    const res = await node.request({ method: 'GET', url: '/v1/keys?limit=abc' });
    problem(res, 400, 'VALIDATION_FAILED');
    assert.match(res.json().errors[0].field, /querystring\/limit/);
  });

  test('huge headers → 431 from the HTTP parser, and the server keeps serving', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        `${base}/v1/auth`,
        { headers: { 'x-api-key': 'k'.repeat(64 * 1024) } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 431);
    const health = await fetch(`${base}/healthz`);
    assert.equal(health.status, 200);
  });

  test('a very long key in a header is MALFORMED, quickly', async () => {
    const res = await node.app.inject({
      url: '/v1/auth',
      headers: { 'x-api-key': `kw_prod_${'a'.repeat(8000)}` },
    });
    problem(res, 401, 'MALFORMED');
  });

  test('property: arbitrary JSON bodies never produce a 5xx on any write route', async () => {
    const { id } = await node.createKey();
    const routes = [
      ['POST', '/v1/keys'],
      ['PATCH', `/v1/keys/${id}`],
      ['POST', '/v1/verify'],
      ['POST', '/v1/projects'],
      ['PATCH', '/v1/projects/default'],
    ] as const;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), fc.jsonValue(), async ([method, url], body) => {
        const res = await node.request({
          method,
          url,
          payload: JSON.stringify(body),
          headers: { 'content-type': 'application/json' },
        });
        assert.ok(
          res.statusCode < 500,
          `${method} ${url} ${JSON.stringify(body).slice(0, 200)} → ${res.statusCode} ${res.body}`,
        );
      }),
      { numRuns: 300 },
    );
  });

  test('property: arbitrary header values never produce a 5xx on forward-auth', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ maxLength: 200 }),
        fc.string({ maxLength: 100 }),
        async (key, scopes) => {
          const clean = (s: string) => s.replace(/[^\t\x20-\x7e]/g, '');
          const res = await node.app.inject({
            url: '/v1/auth',
            headers: { 'x-api-key': clean(key), 'x-keywarden-scopes': clean(scopes) },
          });
          assert.ok([200, 401, 403].includes(res.statusCode), `${res.statusCode} ${res.body}`);
        },
      ),
      { numRuns: 300 },
    );
  });
});
