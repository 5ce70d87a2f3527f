import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import Fastify from 'fastify';
import { startTestNode, type TestNode } from '../testing/harness.ts';
import { serveDirectly } from './direct-dispatch.ts';
import { isForwardAuthUrl } from './routes/forward-auth.ts';

interface Answer {
  status: number;
  /** Lower-case names, in the order they were sent; per-connection and per-request ones left out. */
  headers: string[];
  body: string;
}

const VARYING = new Set(['date', 'connection', 'keep-alive', 'x-request-id']);
/** Values that differ between the two paths by design: each path has its own limited key. */
const shown = (name: string, value: string) =>
  name === 'content-length' || name === 'x-keywarden-key-id' ? '…' : value.toLowerCase();
const masked = (body: string) => body.replace(/"requestId":"[^"]*"/, '"requestId":"…"');

function overSocket(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method, headers }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (data += chunk));
      res.on('end', () => {
        const names: string[] = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) {
          const name = res.rawHeaders[i]!.toLowerCase();
          if (VARYING.has(name)) continue;
          names.push(`${name}: ${shown(name, res.rawHeaders[i + 1]!)}`);
        }
        resolve({ status: res.statusCode ?? 0, headers: names, body: masked(data) });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('direct dispatch', () => {
  test('only the URLs Fastify routes to forward-auth without decoding go direct', () => {
    for (const url of ['/v1/auth', '/v1/auth?scopes=a', '/v1/auth/', '/v1/auth/orders/42?x=1']) {
      assert.equal(isForwardAuthUrl(url), true, url);
    }
    for (const url of ['/v1/authx', '//v1/auth', '/V1/AUTH', '/v1/%61uth', '/v1/auth/%ZZ', '/v1']) {
      assert.equal(isForwardAuthUrl(url), false, url);
    }
    assert.equal(isForwardAuthUrl('/v1/auth?x=%41'), true, 'escapes in the query are fine');
  });

  test('matching requests skip Fastify; the rest, other methods and a closing app do not', async () => {
    const app = Fastify();
    app.get('/*', async () => 'fastify');
    const direct: string[] = [];
    assert.equal(
      serveDirectly(
        app,
        (url) => url.startsWith('/fast'),
        (req, res) => {
          direct.push(`${req.method} ${req.url}`);
          res.end('direct');
        },
      ),
      true,
    );
    await app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    try {
      assert.equal((await overSocket(base, 'GET', '/fast/1', {})).body, 'direct');
      assert.equal((await overSocket(base, 'GET', '/slow', {})).body, 'fastify');
      // Not a method Fastify routes: Fastify answers it (404), as it would without the dispatch.
      assert.equal((await overSocket(base, 'PURGE', '/fast/2', {})).status, 404);
      assert.deepEqual(direct, ['GET /fast/1']);
    } finally {
      await app.close();
    }
  });
});

describe('forward-auth: the direct path answers exactly as inject (the Fastify route)', () => {
  let node: TestNode;
  let base: string;
  before(async () => {
    node = await startTestNode();
    await node.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(node.app.server.address() as { port: number }).port}`;
  });
  after(() => node.close());

  test('same status, headers in the same order and body, for every kind of answer', async () => {
    const { key } = await node.createKey({ env: 'prod', scopes: ['billing:read'], ownerId: 'o 1' });
    const limits = { ratelimits: [{ name: 'requests', limit: 1, windowSeconds: 60 }] };
    // One limited key per path, so that both see the same sequence of decisions.
    const limited = [(await node.createKey(limits)).key, (await node.createKey(limits)).key];
    const last = key.at(-1) === 'A' ? 'B' : 'A';
    const cases: Array<[string, string, (k: string) => Record<string, string>, string?]> = [
      ['GET', '/v1/auth', () => ({ 'x-api-key': key, 'x-keywarden-scopes': 'billing:read' })],
      ['GET', '/v1/auth', () => ({ authorization: `Bearer ${key}`, 'x-request-id': 'trace-1' })],
      ['GET', '/v1/auth', () => ({})],
      ['GET', '/v1/auth', () => ({ 'x-api-key': `${key.slice(0, -1)}${last}` })],
      ['GET', '/v1/auth?scopes=orders:read', () => ({ 'x-api-key': key })],
      ['GET', '/v1/auth?env=dev', () => ({ 'x-api-key': key })],
      ['GET', '/v1/auth?cost=abc', () => ({ 'x-api-key': key })],
      ['GET', '/v1/auth?env=a&env=b', () => ({ 'x-api-key': key })],
      ['GET', `/v1/auth?api_key=${key}`, () => ({})],
      ['HEAD', '/v1/auth', () => ({ 'x-api-key': key })],
      ['POST', '/v1/auth/orders/42', () => ({ 'x-api-key': key, 'content-type': 'a/b' }), '<x/>'],
      ['GET', '/v1/auth', (k) => ({ 'x-api-key': k })],
      ['GET', '/v1/auth', (k) => ({ 'x-api-key': k })],
    ];
    for (const [method, url, headersFor, payload] of cases) {
      const socket = await overSocket(base, method, url, headersFor(limited[0]!), payload);
      const injected = await node.app.inject({
        method: method as 'GET',
        url,
        headers: headersFor(limited[1]!),
        ...(payload !== undefined && { payload }),
      });
      const names: string[] = [];
      for (const [name, value] of Object.entries(injected.headers)) {
        if (VARYING.has(name)) continue;
        names.push(`${name}: ${shown(name, String(value))}`);
      }
      const label = `${method} ${url}`;
      assert.equal(socket.status, injected.statusCode, label);
      assert.deepEqual(socket.headers, names, label);
      assert.equal(socket.body, masked(injected.body), label);
    }
  });

  test('the request id is the caller’s when it is a safe token, a new one otherwise', async () => {
    const echoed = await fetch(`${base}/v1/auth`, { headers: { 'x-request-id': 'abc-123' } });
    assert.equal(echoed.headers.get('x-request-id'), 'abc-123');
    assert.equal(((await echoed.json()) as { requestId: string }).requestId, 'abc-123');
    const replaced = await fetch(`${base}/v1/auth`, { headers: { 'x-request-id': 'a b' } });
    assert.match(String(replaced.headers.get('x-request-id')), /^req_/);
  });
});
