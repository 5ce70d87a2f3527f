import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { generateKey } from '@keywarden/core';
import { CLI_ACTOR } from '../../audit/index.ts';
import { manualClock } from '../../clock/index.ts';
import { LocalInvalidationChannel } from '../../invalidation/index.ts';
import { KeyService } from '../../keys/index.ts';
import { startTestNode, type TestNode } from '../../testing/harness.ts';

const auth = (
  node: TestNode,
  headers: Record<string, string>,
  url = '/v1/auth',
  remoteAddress?: string,
) => node.app.inject({ method: 'GET', url, headers, ...(remoteAddress && { remoteAddress }) });

/** Counts how often the verifier reaches the store for a key, until `restore()`. */
function countStoreLookups(node: TestNode) {
  const original = node.kw.store.keys.findByHash;
  const spy = {
    count: 0,
    restore: () => {
      node.kw.store.keys.findByHash = original;
    },
  };
  node.kw.store.keys.findByHash = async (hash) => {
    spy.count++;
    return original(hash);
  };
  return spy;
}

describe('forward-auth GET /v1/auth', () => {
  const clock = manualClock(Date.UTC(2026, 5, 1));
  let node: TestNode;
  before(async () => {
    node = await startTestNode({ clock });
  });
  after(() => node.close());

  test('200 with the key id, project and env for a valid key, from Bearer or X-API-Key', async () => {
    const { id, key } = await node.createKey({
      env: 'prod',
      scopes: ['billing:read'],
      ownerId: 'team a',
    });
    for (const headers of [{ authorization: `Bearer ${key}` }, { 'x-api-key': key }] as Array<
      Record<string, string>
    >) {
      const res = await auth(node, headers);
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['x-keywarden-key-id'], id);
      assert.equal(res.headers['x-keywarden-env'], 'prod');
      assert.equal(res.headers['x-keywarden-owner-id'], 'team%20a');
    }
  });

  test('401 MISSING with a Bearer challenge when no key is presented', async () => {
    const res = await auth(node, {});
    assert.equal(res.statusCode, 401);
    assert.equal(res.json().code, 'MISSING');
    assert.match(String(res.headers['www-authenticate']), /^Bearer realm="keywarden"$/);
    assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
  });

  test('401 MALFORMED for garbage and for a bad checksum, before any store lookup', async () => {
    const { key } = await node.createKey();
    const last = key.at(-1) === 'A' ? 'B' : 'A';
    const corrupted = `${key.slice(0, -1)}${last}`;
    const lookups = countStoreLookups(node);
    try {
      for (const bad of ['nope', corrupted, `${key}x`, 'Bearer', 'kw_prod_short']) {
        const res = await auth(node, { 'x-api-key': bad });
        assert.equal(res.statusCode, 401, bad);
        assert.equal(res.json().code, 'MALFORMED', bad);
        assert.match(String(res.headers['www-authenticate']), /error="invalid_token"/);
      }
      assert.equal(lookups.count, 0);
    } finally {
      lookups.restore();
    }
  });

  test('401 NOT_FOUND for a well-formed unknown key, which reaches the store only once', async () => {
    const unknown = generateKey({ prefix: 'kw', env: 'prod' });
    const lookups = countStoreLookups(node);
    try {
      for (let i = 0; i < 20; i++) {
        const res = await auth(node, { 'x-api-key': unknown });
        assert.equal(res.json().code, 'NOT_FOUND');
      }
      assert.equal(lookups.count, 1);
    } finally {
      lookups.restore();
    }
  });

  test('20 concurrent misses for one key share a single store query', async () => {
    const unknown = generateKey({ prefix: 'kw', env: 'dev' });
    const lookups = countStoreLookups(node);
    try {
      await Promise.all(Array.from({ length: 20 }, () => auth(node, { 'x-api-key': unknown })));
      assert.equal(lookups.count, 1);
    } finally {
      lookups.restore();
    }
  });

  test('a management key is not an API key here', async () => {
    const res = await auth(node, { 'x-api-key': node.adminKey });
    assert.equal(res.statusCode, 401);
    assert.equal(res.json().code, 'NOT_FOUND');
  });

  test('401 REVOKED on the very next request after revocation', async () => {
    const { id, key } = await node.createKey();
    assert.equal((await auth(node, { 'x-api-key': key })).statusCode, 200);
    const revoke = await node.request({ method: 'POST', url: `/v1/keys/${id}/revoke` });
    assert.equal(revoke.statusCode, 200);
    const res = await auth(node, { 'x-api-key': key });
    assert.equal(res.statusCode, 401);
    assert.equal(res.json().code, 'REVOKED');
  });

  test('401 DISABLED while disabled, 200 again once enabled', async () => {
    const { id, key } = await node.createKey();
    assert.equal((await auth(node, { 'x-api-key': key })).statusCode, 200);
    await node.request({ method: 'POST', url: `/v1/keys/${id}/disable` });
    const res = await auth(node, { 'x-api-key': key });
    assert.equal(res.statusCode, 401);
    assert.equal(res.json().code, 'DISABLED');
    await node.request({ method: 'POST', url: `/v1/keys/${id}/enable` });
    assert.equal((await auth(node, { 'x-api-key': key })).statusCode, 200);
  });

  test('401 EXPIRED from the moment of expiry, even while cached', async () => {
    const expiresAt = new Date(clock.now() + 60_000).toISOString();
    const { key } = await node.createKey({ expiresAt } as never);
    assert.equal((await auth(node, { 'x-api-key': key })).statusCode, 200);
    clock.advance(59_999);
    assert.equal((await auth(node, { 'x-api-key': key })).statusCode, 200);
    clock.advance(1);
    const res = await auth(node, { 'x-api-key': key });
    assert.equal(res.statusCode, 401);
    assert.equal(res.json().code, 'EXPIRED');
  });

  test('401 WRONG_ENV when the route serves another environment', async () => {
    const { key } = await node.createKey({ env: 'dev' });
    const res = await auth(node, { 'x-api-key': key, 'x-keywarden-env': 'prod' });
    assert.equal(res.statusCode, 401);
    assert.equal(res.json().code, 'WRONG_ENV');
    assert.equal(
      (await auth(node, { 'x-api-key': key, 'x-keywarden-env': 'dev' })).statusCode,
      200,
    );
  });

  test('the environment in the auth URL (operator config) beats a forged header', async () => {
    const { key } = await node.createKey({ env: 'dev' });
    const res = await auth(
      node,
      { 'x-api-key': key, 'x-keywarden-env': 'dev' },
      '/v1/auth?env=prod',
    );
    assert.equal(res.json().code, 'WRONG_ENV');
  });

  test('403 INSUFFICIENT_SCOPE names the missing scope; the level hierarchy holds', async () => {
    const { key } = await node.createKey({ scopes: ['billing:write'] });
    assert.equal(
      (await auth(node, { 'x-api-key': key, 'x-keywarden-scopes': 'billing:read' })).statusCode,
      200,
    );
    const res = await auth(node, {
      'x-api-key': key,
      'x-keywarden-scopes': 'billing:read, billing:admin',
    });
    assert.equal(res.statusCode, 403);
    assert.equal(res.json().code, 'INSUFFICIENT_SCOPE');
    assert.match(
      String(res.headers['www-authenticate']),
      /error="insufficient_scope", scope="billing:admin"/,
    );
    const fromQuery = await auth(node, { 'x-api-key': key }, '/v1/auth?scopes=orders:read');
    assert.equal(fromQuery.statusCode, 403);
  });

  test('scopes from the URL and the header are both required (a forged header only adds)', async () => {
    const { key } = await node.createKey({ scopes: ['billing:read'] });
    const res = await auth(
      node,
      { 'x-api-key': key, 'x-keywarden-scopes': '' },
      '/v1/auth?scopes=orders:read',
    );
    assert.equal(res.statusCode, 403);
  });

  test('a key with no scopes passes a route that requires none, and fails one that does', async () => {
    const { key } = await node.createKey();
    assert.equal((await auth(node, { 'x-api-key': key })).statusCode, 200);
    assert.equal(
      (await auth(node, { 'x-api-key': key, 'x-keywarden-scopes': 'read' })).statusCode,
      403,
    );
  });

  test('403 IP_NOT_ALLOWED outside the allowlist, IPv4 and IPv6', async () => {
    const { key } = await node.createKey({ allowedIps: ['10.0.0.0/8', '2001:db8::/32'] });
    assert.equal((await auth(node, { 'x-api-key': key }, '/v1/auth', '10.1.2.3')).statusCode, 200);
    assert.equal(
      (await auth(node, { 'x-api-key': key }, '/v1/auth', '2001:db8::7')).statusCode,
      200,
    );
    const outside = await auth(node, { 'x-api-key': key }, '/v1/auth', '192.0.2.1');
    assert.equal(outside.statusCode, 403);
    assert.equal(outside.json().code, 'IP_NOT_ALLOWED');
    assert.equal(
      (await auth(node, { 'x-api-key': key }, '/v1/auth', '2001:db9::1')).statusCode,
      403,
    );
  });

  test('X-Forwarded-For is ignored unless the peer is a trusted proxy', async () => {
    const { key } = await node.createKey({ allowedIps: ['10.0.0.0/8'] });
    const res = await auth(
      node,
      { 'x-api-key': key, 'x-forwarded-for': '10.9.9.9' },
      '/v1/auth',
      '192.0.2.1',
    );
    assert.equal(res.json().code, 'IP_NOT_ALLOWED');
  });

  test('the api_key query parameter counts only where the project allows it', async () => {
    const { key } = await node.createKey();
    const res = await auth(node, {}, `/v1/auth?api_key=${key}`);
    assert.equal(res.statusCode, 401);
    assert.equal(res.json().code, 'MISSING');
    const project = await node.request({
      method: 'POST',
      url: '/v1/projects',
      payload: { name: 'qp', prefix: 'qp', allowQueryKey: true },
    });
    assert.equal(project.statusCode, 201);
    const allowed = await node.createKey({ project: 'qp' });
    assert.equal((await auth(node, {}, `/v1/auth?api_key=${allowed.key}`)).statusCode, 200);
  });

  test('any method and sub-path is accepted (nginx, Traefik, Envoy path prefixes), body ignored', async () => {
    const { key } = await node.createKey();
    const res = await node.app.inject({
      method: 'POST',
      url: '/v1/auth/orders/42',
      headers: { 'x-api-key': key, 'content-type': 'application/xml' },
      payload: '<x/>',
    });
    assert.equal(res.statusCode, 200);
  });

  test('a key created after its hash was cached as unknown verifies at once', async () => {
    // Plant the negative entry that an early, failed try would have left.
    const created = await node.createKey();
    const { hash } = node.kw.hasher.hash(created.key);
    node.kw.cache.invalidateKey(created.id);
    node.kw.cache.rememberMissing(hash);
    await node.kw.invalidation.publish({ type: 'key-created', hash });
    assert.equal((await auth(node, { 'x-api-key': created.key })).statusCode, 200);
  });
});

describe('forward-auth under a flood of forged keys (the unknown-key guard)', () => {
  const clock = manualClock(Date.UTC(2026, 5, 1));
  let node: TestNode;
  before(async () => {
    node = await startTestNode({ clock });
  });
  after(() => node.close());

  /** `count` distinct never-issued keys with valid checksums, from one /24, all at once. */
  const flood = (count: number, network: string) =>
    Promise.all(
      Array.from({ length: count }, (_, i) =>
        auth(
          node,
          { 'x-api-key': generateKey({ prefix: 'kw', env: 'prod' }) },
          '/v1/auth',
          `${network}.${i % 250}`,
        ),
      ),
    );

  test('2,000 forged keys from one network cost the store at most its budget (20)', async () => {
    const lookups = countStoreLookups(node);
    try {
      const answers = await flood(2000, '203.0.113');
      assert.ok(answers.every((res) => res.json().code === 'NOT_FOUND'));
      // Before the guard: one lookup per distinct key, 2,000.
      assert.ok(lookups.count <= 20, `${lookups.count} store lookups`);
      assert.equal(node.kw.unknownKeys?.refusals().get('203.0.113.0/24'), 2000 - lookups.count);
      const metrics = await node.request({ method: 'GET', url: '/metrics' });
      assert.match(
        metrics.body,
        /keywarden_unknown_key_lookups_total\{decision="refused"\} 19\d\d/,
      );
    } finally {
      lookups.restore();
    }
  });

  test('a key created a moment ago verifies on first use from a network over its budget', async () => {
    await flood(100, '198.51.100');
    const { key } = await node.createKey();
    const res = await auth(node, { 'x-api-key': key }, '/v1/auth', '198.51.100.20');
    assert.equal(res.statusCode, 200);
  });

  test('a key the filter never heard of (another process wrote it) verifies within the budget', async () => {
    // As `keywarden admin-key create` does on SQLite: the same store, no message to this node.
    const elsewhere = new KeyService({
      store: node.kw.store,
      hasher: node.kw.hasher,
      clock,
      invalidation: new LocalInvalidationChannel(),
    });
    const { plaintext, record } = await elsewhere.create({ name: 'from the CLI' }, CLI_ACTOR);
    const res = await auth(node, { 'x-api-key': plaintext }, '/v1/auth', '192.0.2.1');
    assert.equal(res.statusCode, 200);
    // Found once, known for good: out of the cache, with the network's budget spent, it is
    // still looked up (the filter learnt it).
    await flood(100, '192.0.2');
    node.kw.cache.invalidateKey(record.id);
    assert.equal(
      (await auth(node, { 'x-api-key': plaintext }, '/v1/auth', '192.0.2.2')).statusCode,
      200,
    );
  });
});

describe('forward-auth behind a trusted proxy', () => {
  let node: TestNode;
  before(async () => {
    node = await startTestNode({ env: { KEYWARDEN_TRUSTED_PROXIES: '127.0.0.1/32' } });
    node.config.trustedProxies = ['127.0.0.1/32'];
  });
  after(() => node.close());

  test('the client address comes from X-Forwarded-For sent by the trusted proxy', async () => {
    const { key } = await node.createKey({ allowedIps: ['10.0.0.0/8'] });
    const ok = await auth(
      node,
      { 'x-api-key': key, 'x-forwarded-for': '10.9.9.9' },
      '/v1/auth',
      '127.0.0.1',
    );
    assert.equal(ok.statusCode, 200);
    const outside = await auth(
      node,
      { 'x-api-key': key, 'x-forwarded-for': '192.0.2.4' },
      '/v1/auth',
      '127.0.0.1',
    );
    assert.equal(outside.json().code, 'IP_NOT_ALLOWED');
  });
});
