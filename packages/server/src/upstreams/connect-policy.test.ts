import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startTestNode, type TestNode } from '../testing/harness.ts';
import { type TestUpstreamNetwork, testUpstreamNetwork } from '../testing/upstream-network.ts';

/**
 * The host policy at connect time, through the gateway: a name is resolved, its addresses
 * checked, and the checked address itself is dialled. The resolver and the dialer are the
 * test's: `198.51.100.7:8080` (a documentation address) is redirected to a loopback mock, and
 * any other non-loopback address is refused by the dialer — nothing leaves this host.
 */
describe('upstream connections go only where the host policy allows', () => {
  let node: TestNode;
  let mock: Server;
  let mockPort = 0;
  const seen: { url: string; token: string | undefined }[] = [];
  const answers: Record<string, string[]> = { 'rebind.test': ['198.51.100.7'] };
  let network: TestUpstreamNetwork;
  const secret = `sk-test-${randomUUID()}`;
  let key = '';

  before(async () => {
    mock = createServer((req, res) => {
      seen.push({ url: req.url ?? '', token: req.headers['x-token'] as string | undefined });
      // A fresh connection for every request: each one goes through the connector again.
      res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' });
      res.end('ok');
    });
    await new Promise<void>((resolve) => mock.listen(0, '127.0.0.1', resolve));
    mockPort = (mock.address() as AddressInfo).port;
    network = testUpstreamNetwork({
      names: (hostname) => answers[hostname] ?? [],
      redirect: { '198.51.100.7:8080': { host: '127.0.0.1', port: mockPort } },
    });
    node = await startTestNode({
      env: { KEYWARDEN_UPSTREAM_ALLOW_LOOPBACK: 'false' },
      upstreamNetwork: network,
    });
    key = (await node.createKey({ scopes: ['read'] })).key;
  });

  after(async () => {
    await node?.close();
    await new Promise((resolve) => mock?.close(resolve));
  });

  const call = (name: string, path = '/ping') =>
    node.request({
      method: 'GET',
      url: `/gw/${name}${path}`,
      key: null,
      headers: { 'x-api-key': key },
    });

  test('DNS rebinding: the name that passed at creation and now resolves to metadata is not dialled', async () => {
    const created = await node.request({
      method: 'POST',
      url: '/v1/upstreams',
      payload: {
        name: 'rebind',
        type: 'http',
        baseUrl: 'http://rebind.test:8080',
        secret,
        authHeader: 'x-token',
        authScheme: null,
      },
    });
    assert.equal(created.statusCode, 201, created.body);

    const first = await call('rebind');
    assert.equal(first.statusCode, 200, first.body);
    assert.deepEqual(seen, [{ url: '/ping', token: secret }]);
    assert.deepEqual(network.dialled, ['198.51.100.7:8080'], 'the checked address was dialled');

    // The name now answers with the metadata address (or a mix): refused before any dial.
    for (const rebound of [['169.254.169.254'], ['198.51.100.7', '::ffff:a9fe:a9fe']]) {
      answers['rebind.test'] = rebound;
      const second = await call('rebind');
      assert.equal(second.statusCode, 502, second.body);
      assert.equal(second.json().code, 'UPSTREAM_UNAVAILABLE');
    }
    assert.deepEqual(network.dialled, ['198.51.100.7:8080'], 'nothing else was dialled');
    assert.equal(seen.length, 1, 'the secret went nowhere else');
    assert.ok(
      node.logs.some((line) => line.includes('rebind') && line.includes('169.254.169.254')),
      'the log names the upstream and the refused address',
    );
    assert.ok(!node.logs.join('').includes(secret));
  });

  test('a name with several allowed addresses: the next one is dialled when one fails', async () => {
    answers['two.test'] = ['198.51.100.8', '198.51.100.7'];
    const created = await node.request({
      method: 'POST',
      url: '/v1/upstreams',
      payload: { name: 'two', type: 'http', baseUrl: 'http://two.test:8080' },
    });
    assert.equal(created.statusCode, 201, created.body);
    const before = network.dialled.length;
    const res = await call('two', '/both');
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(network.dialled.slice(before), ['198.51.100.8:8080', '198.51.100.7:8080']);
    assert.equal(seen.at(-1)?.url, '/both');
  });

  test('an upstream stored before the policy: loopback keeps working, metadata does not; both named', async () => {
    const make = async (name: string) => {
      const res = await node.request({
        method: 'POST',
        url: '/v1/upstreams',
        payload: { name, type: 'http', baseUrl: 'http://10.0.0.9' },
      });
      assert.equal(res.statusCode, 201, res.body);
      return res.json().id as string;
    };
    // Written straight to the store: what an older version let through.
    const loopId = await make('legacy-loop');
    await node.kw.store.upstreams.update(loopId, { baseUrl: `http://127.0.0.1:${mockPort}` });
    const metaId = await make('legacy-meta');
    await node.kw.store.upstreams.update(metaId, { baseUrl: 'http://169.254.169.254' });

    const loop = await call('legacy-loop', '/legacy');
    assert.equal(loop.statusCode, 200, loop.body);
    assert.equal(seen.at(-1)?.url, '/legacy');
    const meta = await call('legacy-meta', '/latest/meta-data/');
    assert.equal(meta.statusCode, 502, meta.body);
    assert.ok(!network.dialled.some((endpoint) => endpoint.startsWith('169.254.')));

    const ready = await node.app.inject({ url: '/readyz' });
    assert.equal(ready.statusCode, 200, 'still ready: the keys work');
    assert.equal(ready.json().status, 'ready');
    assert.deepEqual(ready.json().upstreamsRefusedByHostPolicy, [
      { name: 'legacy-loop', host: '127.0.0.1', reason: 'loopback', tolerated: true },
      { name: 'legacy-meta', host: '169.254.169.254', reason: 'metadata', tolerated: false },
    ]);

    // Named in the log when the server starts listening (onListen runs after listen returns).
    await node.app.listen({ port: 0, host: '127.0.0.1' });
    const named = (name: string) =>
      node.logs.some((line) => line.includes(`upstream ${name}: the host policy refuses`));
    for (let waited = 0; waited < 10_000 && !named('legacy-meta'); waited += 20)
      await new Promise((resolve) => setTimeout(resolve, 20));
    for (const name of ['legacy-loop', 'legacy-meta']) assert.ok(named(name), name);

    // Other edits keep it; a new base URL must pass the policy.
    const renamed = await node.request({
      method: 'PATCH',
      url: `/v1/upstreams/${loopId}`,
      payload: { routes: [] },
    });
    assert.equal(renamed.statusCode, 200, renamed.body);
    const moved = await node.request({
      method: 'PATCH',
      url: `/v1/upstreams/${loopId}`,
      payload: { baseUrl: `http://127.0.0.1:${mockPort}/v2` },
    });
    assert.equal(moved.statusCode, 400);
    assert.equal(moved.json().errors[0].field, '/baseUrl');
  });
});
