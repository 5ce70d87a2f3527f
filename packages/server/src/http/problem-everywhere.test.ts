import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { generateKey } from '@keywarden/core';
import { startTestNode, type TestNode } from '../testing/harness.ts';

/**
 * Every error on every route is problem+json, and no error answer quotes a key: not the
 * router's (a bad percent-escape, an over-long segment), not the HTTP parser's, not a
 * service's "X does not exist", not while the node shuts down.
 */
describe('errors are problem+json and never echo a key', () => {
  let node: TestNode;
  let key: string;
  let base: string;
  before(async () => {
    node = await startTestNode();
    key = (await node.createKey({ name: 'echo' })).key;
    base = await node.app.listen({ host: '127.0.0.1', port: 0 });
  });
  after(() => node.close());

  const assertProblem = (
    res: { statusCode: number; headers: Record<string, unknown>; body: string },
    label: string,
  ) => {
    assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${label}: ${res.statusCode}`);
    assert.match(String(res.headers['content-type']), /^application\/problem\+json/, label);
    const body = JSON.parse(res.body);
    assert.equal(typeof body.code, 'string', label);
    assert.match(body.requestId, /^req_/, label);
    assert.ok(!res.body.includes(key), `${label} echoes the key: ${res.body}`);
    assert.ok(!res.body.includes(key.slice(8, 38)), `${label} echoes part of the key`);
  };

  test('a bad percent-escape on any route → 400 VALIDATION_FAILED naming the URL, no echo', async () => {
    const urls = [
      '/v1/keys/%E0%A4%A',
      `/v1/keys/${key}%E0%A4%A`,
      `/v1/keys/%E0%A4%A?ownerId=${key}`,
      `/v1/owners/${key}%ZZ`,
      `/v1/projects/%C0%AF${key}`,
      `/v1/upstreams/%E0%A4%A${key}`,
      `/v1/nothing/%E0%A4%A${key}`,
    ];
    for (const url of urls) {
      for (const method of ['GET', 'DELETE', 'PUT', 'PATCH'] as const) {
        const res = await node.request({
          method,
          url,
          payload: method === 'GET' || method === 'DELETE' ? undefined : {},
        });
        const label = `${method} ${url.slice(0, 20)}`;
        assertProblem(res, label);
        if (res.statusCode === 400) {
          assert.equal(res.json().code, 'VALIDATION_FAILED', label);
          assert.equal(res.json().errors[0].field, 'url', label);
        }
      }
    }
    const res = await node.request({ method: 'GET', url: '/v1/keys/%E0%A4%A' });
    assert.equal(res.statusCode, 400);
  });

  test('a path segment over the length limit → 400 problem+json, no echo', async () => {
    const res = await node.request({ method: 'GET', url: `/v1/keys/${key}${'a'.repeat(300)}` });
    assertProblem(res, 'long segment');
    assert.equal(res.json().errors[0].field, 'params');
  });

  test('"does not exist" answers show a key in the path by its display form only', async () => {
    for (const url of [`/v1/keys/${key}`, `/v1/projects/${key}`]) {
      const res = await node.request({ method: 'GET', url });
      assert.equal(res.statusCode, 404, url);
      assertProblem(res, url);
    }
    // An owner id is an identifier: one that holds a key is refused, naming it, not echoing it.
    const owner = await node.request({ method: 'GET', url: `/v1/owners/${key}` });
    assert.equal(owner.statusCode, 400);
    assert.equal(owner.json().errors[0].field, 'params/id');
    assertProblem(owner, 'GET owner');
    const res = await node.request({ method: 'DELETE', url: `/v1/owners/${key}` });
    assertProblem(res, 'DELETE owner');
    const forged = generateKey({ prefix: 'kw', env: 'prod' });
    const other = await node.request({ method: 'GET', url: `/v1/keys/x${forged}` });
    assert.ok(!other.body.includes(forged.slice(8)), other.body);
  });

  test('a request id that holds a key is replaced, not echoed', async () => {
    const res = await node.request({
      method: 'GET',
      url: '/v1/keys/nope',
      headers: { 'x-request-id': key },
    });
    assert.ok(!String(res.headers['x-request-id']).includes(key));
    assertProblem(res, 'request id');
    const ok = await node.request({
      method: 'GET',
      url: '/v1/keys/nope',
      headers: { 'x-request-id': 'trace-1' },
    });
    assert.equal(ok.headers['x-request-id'], 'trace-1');
  });

  /** Sends raw bytes over TCP and returns what came back before the server closed. */
  function raw(bytes: string): Promise<string> {
    const { port } = new URL(base);
    return new Promise((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1');
      let answer = '';
      socket.on('data', (chunk) => {
        answer += chunk;
      });
      socket.on('error', reject);
      socket.on('close', () => resolve(answer));
      socket.write(bytes);
    });
  }

  test('what the HTTP parser refuses is problem+json too, and quotes nothing', async () => {
    for (const request of [
      `GET /v1/keys/${key} HTTP/1.1\r\nHost: x\r\nBad Header: ${key}\r\n\r\n`,
      `GET /v1/keys HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}${key}\r\n\r\n`,
      `NOT-HTTP ${key}\r\n\r\n`,
    ]) {
      const answer = await raw(request);
      const [head = '', body = ''] = answer.split('\r\n\r\n');
      assert.match(head, /^HTTP\/1\.1 4\d\d /, answer.slice(0, 100));
      assert.match(head, /content-type: application\/problem\+json/i);
      assert.equal(typeof JSON.parse(body).code, 'string');
      assert.ok(!answer.includes(key), 'no echo');
    }
  });
});

test('a request that arrives while the node shuts down gets a problem+json 503', async () => {
  const node = await startTestNode();
  // The app's router behind a server of the test's own, so that a request can still reach it
  // once the app has begun closing (as one on a busy keep-alive connection does).
  const server = createServer((req, res) => node.app.routing(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
    await node.app.close();
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(res.status, 503);
    assert.match(String(res.headers.get('content-type')), /^application\/problem\+json/);
    assert.equal(((await res.json()) as { code: string }).code, 'SERVICE_UNAVAILABLE');
  } finally {
    server.close();
    await node.kw.close();
    rmSync(node.dataDir, { recursive: true, force: true });
  }
});
