import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type Server,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startTestNode, type TestNode } from '../testing/harness.ts';

/**
 * Any HTTP API behind keywarden: a route → scope map, the upstream's own credential injected,
 * bodies streamed both ways untouched, keywarden's problem+json for refusals.
 */
interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Behind a load balancer the address comes from X-Forwarded-For: every test runs both ways. */
const CONFIGURATIONS = [
  { name: 'direct', env: {}, trusted: false },
  {
    name: 'behind trusted proxies',
    env: { KEYWARDEN_TRUSTED_PROXIES: '127.0.0.1/32, ::1/128' },
    trusted: true,
  },
];

for (const configuration of CONFIGURATIONS)
  describe(`generic HTTP upstream (${configuration.name})`, () => {
    let node: TestNode;
    let server: Server;
    let origin: string;
    let base: string;
    const seen: Seen[] = [];
    const secret = `svc-${randomUUID()}`;

    before(async () => {
      server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => {
          const body = Buffer.concat(chunks).toString();
          seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
          res.writeHead(req.url?.startsWith('/api/missing') ? 404 : 200, {
            'content-type': 'application/octet-stream',
            'x-served-by': 'upstream',
          });
          res.end(`echo:${body}`);
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      node = await startTestNode({ env: configuration.env });
      await node.app.listen({ port: 0, host: '127.0.0.1' });
      base = `http://127.0.0.1:${(node.app.server.address() as AddressInfo).port}`;
      const created = await node.request({
        method: 'POST',
        url: '/v1/upstreams',
        payload: {
          name: 'things',
          type: 'http',
          baseUrl: `${origin}/api`,
          secret,
          authHeader: 'x-service-token',
          authScheme: null,
          environments: ['dev'],
          routes: [
            { method: 'GET', path: '/things/*', scope: 'things:read' },
            { method: 'POST', path: '/things/**', scope: 'things:write' },
            { method: '*', path: '/missing', scope: 'things:read' },
          ],
        },
      });
      assert.equal(created.statusCode, 201, created.body);
    });

    after(async () => {
      await node?.close();
      await new Promise((resolve) => server?.close(resolve));
    });

    const call = (path: string, init: RequestInit & { key?: string } = {}) =>
      fetch(`${base}/gw/things${path}`, {
        ...init,
        headers: {
          ...(init.key ? { authorization: `Bearer ${init.key}` } : {}),
          ...(init.headers ?? {}),
        },
      });

    test('a mapped route is forwarded with the upstream credential and the key id, never the caller key', async () => {
      const { id, key } = await node.createKey({ scopes: ['things:write'] });
      seen.length = 0;
      const res = await call('/things/a/b?x=1', {
        key,
        method: 'POST',
        body: 'payload-bytes',
        headers: { 'x-forwarded-for': '203.0.113.7', 'user-agent': 'things-client/1' },
      });
      assert.equal(res.status, 200);
      assert.equal(await res.text(), 'echo:payload-bytes');
      assert.equal(res.headers.get('x-served-by'), 'upstream');
      assert.equal(seen[0]?.url, '/api/things/a/b?x=1');
      assert.equal(seen[0]?.headers['x-service-token'], secret);
      assert.equal(seen[0]?.headers.authorization, undefined);
      assert.equal(seen[0]?.headers['x-keywarden-key-id'], id);
      assert.ok(!JSON.stringify(seen[0]?.headers).includes(key));
      await node.kw.usage.flush();
      const [event] = await node.kw.store.usage.listEvents({ keyId: id, limit: 10 });
      assert.equal(event?.entryPoint, 'gateway');
      assert.equal(event?.status, 200);
      assert.equal(event?.tokensIn, null);
      // Captured as the request arrived: the streamed body had detached the socket by the time
      // the answer ended (the address was lost, and behind trusted proxies the process crashed).
      assert.equal(event?.clientIp, configuration.trusted ? '203.0.113.7' : '127.0.0.1');
      assert.equal(event?.userAgent, 'things-client/1');
    });

    test('a streamed request body and answer, recorded after the answer, never take the process down', async () => {
      const { key } = await node.createKey({ scopes: ['things:write'] });
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await call(`/things/${i}`, { key, method: 'POST', body: 'x'.repeat(100_000) });
        await res.arrayBuffer();
        statuses.push(res.status);
      }
      // Let the post-answer events (recording, settling) run, then prove the node still serves.
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(statuses, [200, 200, 200, 200, 200]);
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
    });

    test('a read is forwarded as a read: method overrides are dropped', async () => {
      const { key } = await node.createKey({ scopes: ['things:read'] });
      seen.length = 0;
      const res = await call('/things/1', {
        key,
        headers: {
          'x-http-method-override': 'DELETE',
          'x-http-method': 'DELETE',
          'x-method-override': 'DELETE',
        },
      });
      assert.equal(res.status, 200);
      assert.equal(seen[0]?.method, 'GET');
      for (const name of ['x-http-method-override', 'x-http-method', 'x-method-override'])
        assert.equal(seen[0]?.headers[name], undefined, name);
    });

    test('scopes from the map: read keys may GET, not POST; unmapped routes are refused for everyone', async () => {
      const { key } = await node.createKey({ scopes: ['things:read'] });
      assert.equal((await call('/things/1', { key })).status, 200);
      seen.length = 0;
      const post = await call('/things/1', { key, method: 'POST', body: 'x' });
      assert.equal(post.status, 403);
      assert.equal(post.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      assert.equal(((await post.json()) as { code: string }).code, 'INSUFFICIENT_SCOPE');
      const admin = await node.createKey({ scopes: ['admin'] });
      const unmapped = await call('/secret/admin', { key: admin.key });
      assert.equal(unmapped.status, 403);
      assert.equal(seen.length, 0, 'nothing refused reaches the upstream');
    });

    test('upstream statuses pass through; other environments and missing keys get 401', async () => {
      const { key } = await node.createKey({ scopes: ['things:read'] });
      assert.equal((await call('/missing', { key })).status, 404);
      assert.equal((await call('/things/1')).status, 401);
      const project = await node.request({
        method: 'POST',
        url: '/v1/projects',
        payload: { name: `p${randomUUID().slice(0, 6)}`, prefix: 'pp', environments: ['prod'] },
      });
      assert.equal(project.statusCode, 201, project.body);
      const prod = await node.createKey({
        scopes: ['things:read'],
        project: project.json().name,
        env: 'prod',
      });
      const wrongEnv = await call('/things/1', { key: prod.key });
      assert.equal(wrongEnv.status, 401);
      assert.equal(((await wrongEnv.json()) as { code: string }).code, 'WRONG_ENV');
    });

    test('path tricks are refused before any key is looked at', async () => {
      const { key } = await node.createKey({ scopes: ['things:read'] });
      seen.length = 0;
      // node:http sends the path as written (fetch would resolve the dot segments itself).
      for (const path of ['/things/%2e%2e/admin', '/things/./1', '/things/a%2fb', '/things//1']) {
        const status = await new Promise<number>((resolve, reject) => {
          const req = httpRequest(
            {
              host: '127.0.0.1',
              port: new URL(base).port,
              path: `/gw/things${path}`,
              headers: { authorization: `Bearer ${key}` },
            },
            (res) => {
              res.resume();
              resolve(res.statusCode ?? 0);
            },
          );
          req.on('error', reject);
          req.end();
        });
        assert.equal(status, 400, path);
      }
      assert.equal(seen.length, 0);
    });

    /** node:http sends the path exactly as written (fetch would resolve dot segments itself). */
    const rawGet = (path: string, key: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest(
          {
            host: '127.0.0.1',
            port: new URL(base).port,
            path,
            headers: { authorization: `Bearer ${key}` },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('end', () =>
              resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
            );
          },
        );
        req.on('error', reject);
        req.end();
      });

    test('a protected route is not reached by another spelling of its path', async () => {
      const created = await node.request({
        method: 'POST',
        url: '/v1/upstreams',
        payload: {
          name: 'guarded',
          type: 'http',
          baseUrl: origin,
          environments: ['dev'],
          routes: [
            { method: 'GET', path: '/api/admin/**', scope: 'guarded:admin' },
            { method: '*', path: '/**', scope: 'guarded:read' },
          ],
        },
      });
      assert.equal(created.statusCode, 201, created.body);
      const reader = await node.createKey({ scopes: ['guarded:read'] });
      seen.length = 0;
      const variants = {
        '/api/ADMIN/users': 403,
        '/api/Admin/users': 403,
        '/api/admin;x/users': 400,
        '/api/admin./users': 400,
        '/api/admin%20/users': 400,
        '/api/%61dmin/users': 403,
        '/api/admin%2fusers': 400,
        '/api//admin/users': 400,
      };
      for (const [path, status] of Object.entries(variants)) {
        const res = await rawGet(`/gw/guarded${path}`, reader.key);
        assert.equal(res.status, status, `${path}: ${res.body}`);
        assert.equal(
          JSON.parse(res.body).code,
          status === 403 ? 'INSUFFICIENT_SCOPE' : 'VALIDATION_FAILED',
        );
      }
      assert.equal(seen.length, 0, 'no spelling of the admin path reached the upstream');
      const fine = await rawGet('/gw/guarded/api/users', reader.key);
      assert.equal(fine.status, 200);

      // What was authorised is what is forwarded: one canonical spelling.
      const admin = await node.createKey({ scopes: ['guarded:admin'] });
      seen.length = 0;
      const res = await rawGet('/gw/guarded/api/%61dmin/Users?x=1', admin.key);
      assert.equal(res.status, 200, res.body);
      assert.equal(seen[0]?.url, '/api/admin/Users?x=1');
    });

    test('replacing the secret takes effect on the next request, without a failed one', async () => {
      const { key } = await node.createKey({ scopes: ['things:read'] });
      const next = `svc-${randomUUID()}`;
      const inflight = Array.from({ length: 10 }, () => call('/things/1', { key }));
      const patched = await node.request({
        method: 'PATCH',
        url: '/v1/upstreams/things',
        payload: { secret: next },
      });
      assert.equal(patched.statusCode, 200, patched.body);
      const statuses = await Promise.all(inflight.map(async (r) => (await r).status));
      assert.deepEqual(new Set(statuses), new Set([200]));
      seen.length = 0;
      assert.equal((await call('/things/1', { key })).status, 200);
      assert.equal(seen[0]?.headers['x-service-token'], next);
    });

    test('an upstream that is down answers 502, quickly', async () => {
      const created = await node.request({
        method: 'POST',
        url: '/v1/upstreams',
        payload: { name: 'down', type: 'http', baseUrl: 'http://127.0.0.1:9' },
      });
      assert.equal(created.statusCode, 201, created.body);
      const { key } = await node.createKey({ scopes: ['down:read'] });
      const res = await fetch(`${base}/gw/down/x`, { headers: { authorization: `Bearer ${key}` } });
      assert.equal(res.status, 502);
      assert.equal(((await res.json()) as { code: string }).code, 'UPSTREAM_UNAVAILABLE');
    });

    test('a failure in the recording after the answer is logged, never thrown (runs last: it closes the recorder)', async () => {
      const { key } = await node.createKey({ scopes: ['things:write'] });
      await node.kw.usage.close(); // as during shutdown: recording now throws
      const res = await call('/things/late', { key, method: 'POST', body: 'late' });
      assert.equal(res.status, 200);
      assert.equal(await res.text(), 'echo:late');
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal((await fetch(`${base}/healthz`)).status, 200, 'the process still serves');
      assert.ok(node.logs.some((line) => line.includes('recording a gateway usage event failed')));
    });
  });
