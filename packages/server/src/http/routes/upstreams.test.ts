import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CLI_ACTOR } from '../../audit/index.ts';
import type { Invalidation } from '../../invalidation/index.ts';
import { startTestNode, type TestNode } from '../../testing/harness.ts';
import { testUpstreamNetwork } from '../../testing/upstream-network.ts';

/** Test secrets are made at run time: nothing secret-shaped is committed. */
const testSecret = () => `sk-test-${randomUUID()}`;

describe('upstreams API', () => {
  let node: TestNode;
  const secrets: string[] = [];
  const published: Invalidation[] = [];
  before(async () => {
    node = await startTestNode();
    node.kw.invalidation.subscribe((message) => published.push(message));
  });
  after(() => node.close());

  let counter = 0;
  const uniqueName = () => `up-${++counter}-${Math.random().toString(36).slice(2, 8)}`;
  const create = (payload: Record<string, unknown>, key?: string | null) =>
    node.request({ method: 'POST', url: '/v1/upstreams', payload, key });
  const patch = (ref: string, payload: Record<string, unknown>) =>
    node.request({ method: 'PATCH', url: `/v1/upstreams/${ref}`, payload });
  const get = (ref: string) => node.request({ method: 'GET', url: `/v1/upstreams/${ref}` });

  test('201 with defaults; the answer has hasSecret and secretHint, never the secret', async () => {
    const secret = testSecret();
    secrets.push(secret);
    const name = uniqueName();
    const res = await create({
      name,
      type: 'openai',
      baseUrl: 'https://API.example.test/v1/',
      secret,
    });
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(res.headers['cache-control'], 'no-store');
    const body = res.json();
    assert.match(body.id, /^ups_[0-9A-Z]{26}$/);
    assert.deepEqual(
      { ...body, id: undefined, createdAt: undefined, updatedAt: undefined },
      {
        id: undefined,
        name,
        type: 'openai',
        baseUrl: 'https://api.example.test/v1',
        hasSecret: true,
        secretHint: `…${secret.slice(-4)}`,
        authHeader: 'authorization',
        authScheme: 'Bearer',
        environments: null,
        timeouts: { connectMs: 5_000, headersMs: 300_000, bodyMs: 300_000 },
        routes: [],
        prices: {},
        createdAt: undefined,
        updatedAt: undefined,
      },
    );
    assert.equal(body.secretSealed, undefined);
    assert.ok(!res.body.includes(secret));
    assert.equal(body.createdAt, body.updatedAt);

    const resolved = await node.kw.upstreams.resolve(name);
    assert.equal(resolved?.secret, secret);
    assert.equal(resolved?.upstream.id, body.id);
    assert.equal(await node.kw.upstreams.resolve('no-such-upstream'), null);
    assert.ok(
      published.some((m) => m.type === 'upstream' && m.upstreamId === body.id && m.name === name),
      'a create is announced (a gateway may have cached the name as unknown)',
    );
  });

  test('201 keeps every field; GET by id and by name; list by name', async () => {
    const name = uniqueName();
    const res = await create({
      name,
      type: 'http',
      baseUrl: 'http://127.0.0.1:8080',
      secret: 'short',
      authHeader: 'X-Api-Key',
      authScheme: null,
      environments: ['prod', 'staging'],
      timeouts: { connectMs: 1_000, bodyMs: 3_600_000 },
      routes: [
        { method: 'post', path: '/v1/things/**', scope: 'things:write' },
        { method: '*', path: '/v1/things/*/status', scope: 'things:read' },
        { method: 'GET', path: '/', scope: 'read' },
      ],
      prices: { 'gpt-4o': { input: 2.5, output: 10 }, 'o3-mini': { input: 1.1, output: 4.4 } },
    });
    assert.equal(res.statusCode, 201, res.body);
    const body = res.json();
    assert.equal(body.secretHint, null, 'no hint for a secret under 12 characters');
    assert.equal(body.hasSecret, true);
    assert.equal(body.authHeader, 'x-api-key');
    assert.equal(body.authScheme, null);
    assert.deepEqual(body.environments, ['prod', 'staging']);
    assert.deepEqual(body.timeouts, { connectMs: 1_000, headersMs: 300_000, bodyMs: 3_600_000 });
    assert.deepEqual(body.routes[0], {
      method: 'POST',
      path: '/v1/things/**',
      scope: 'things:write',
    });
    assert.deepEqual(body.prices, {
      'gpt-4o': { input: 2.5, output: 10 },
      'o3-mini': { input: 1.1, output: 4.4 },
    });
    const stored = await node.kw.store.upstreams.findById(body.id);
    assert.deepEqual(stored?.prices['o3-mini'], {
      inputMicrosPerMTok: 1_100_000,
      outputMicrosPerMTok: 4_400_000,
    });

    assert.deepEqual((await get(body.id)).json(), body);
    assert.deepEqual((await get(name)).json(), body);
    const list = (await node.request({ method: 'GET', url: '/v1/upstreams' })).json();
    const names = list.data.map((u: { name: string }) => u.name);
    assert.ok(names.includes(name));
    assert.deepEqual(names, [...names].sort());
    assert.equal((await get('nothing-here')).statusCode, 404);
    assert.equal((await get('nothing-here')).json().code, 'RESOURCE_NOT_FOUND');
  });

  test('PATCH replaces what is sent, merges timeouts; secret rotates the hint and what resolve() gives', async () => {
    const first = testSecret();
    const second = testSecret();
    secrets.push(first, second);
    const name = uniqueName();
    const created = (
      await create({ name, type: 'openai', baseUrl: 'https://a.test', secret: first })
    ).json();

    const rotated = await patch(name, { secret: second, timeouts: { headersMs: 60_000 } });
    assert.equal(rotated.statusCode, 200, rotated.body);
    const body = rotated.json();
    assert.equal(body.secretHint, `…${second.slice(-4)}`);
    assert.notEqual(body.secretHint, created.secretHint);
    assert.deepEqual(body.timeouts, { connectMs: 5_000, headersMs: 60_000, bodyMs: 300_000 });
    assert.equal(body.baseUrl, 'https://a.test', 'fields not sent are kept');
    assert.equal((await node.kw.upstreams.resolve(name))?.secret, second);
    assert.ok(!rotated.body.includes(second) && !rotated.body.includes(first));

    const changed = (
      await patch(created.id, {
        // Same origin: the secret goes to the same server, so it need not be given again.
        baseUrl: 'https://a.test/openai',
        authScheme: 'Token',
        environments: ['prod'],
        routes: [{ method: 'GET', path: '/models', scope: 'models:read' }],
        prices: {},
      })
    ).json();
    assert.equal(changed.baseUrl, 'https://a.test/openai');
    assert.equal(changed.authScheme, 'Token');
    assert.deepEqual(changed.environments, ['prod']);
    assert.equal(changed.routes.length, 1);

    const removed = (await patch(name, { secret: null, environments: null })).json();
    assert.equal(removed.hasSecret, false);
    assert.equal(removed.secretHint, null);
    assert.equal(removed.environments, null);
    assert.equal((await node.kw.upstreams.resolve(name))?.secret, null);
    assert.equal((await patch(name, {})).statusCode, 400, 'an empty PATCH changes nothing');
  });

  test('rename: the old name is gone and announced, the new one resolves; a taken name is 409', async () => {
    const name = uniqueName();
    const other = uniqueName();
    const secret = testSecret();
    secrets.push(secret);
    const created = (
      await create({ name, type: 'openai', baseUrl: 'https://a.test', secret })
    ).json();
    await create({ name: other, type: 'openai', baseUrl: 'https://a.test' });
    published.length = 0;

    const renamed = `${name}-new`;
    const res = await patch(name, { name: renamed });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().id, created.id);
    assert.equal((await get(name)).statusCode, 404);
    assert.equal((await get(renamed)).json().id, created.id);
    assert.equal(await node.kw.upstreams.resolve(name), null);
    assert.equal(
      (await node.kw.upstreams.resolve(renamed))?.secret,
      secret,
      'the secret moves too',
    );
    assert.deepEqual(published, [
      { type: 'upstream', upstreamId: created.id, name },
      { type: 'upstream', upstreamId: created.id, name: renamed },
    ]);

    const clash = await patch(renamed, { name: other });
    assert.equal(clash.statusCode, 409);
    assert.equal(clash.json().code, 'ALREADY_EXISTS');
    const duplicate = await create({ name: other, type: 'http', baseUrl: 'https://c.test' });
    assert.equal(duplicate.statusCode, 409);
    assert.equal(duplicate.json().code, 'ALREADY_EXISTS');
  });

  test('DELETE: 204, then 404; announced', async () => {
    const name = uniqueName();
    const created = (await create({ name, type: 'http', baseUrl: 'https://a.test' })).json();
    published.length = 0;
    const res = await node.request({ method: 'DELETE', url: `/v1/upstreams/${name}` });
    assert.equal(res.statusCode, 204);
    assert.deepEqual(published, [{ type: 'upstream', upstreamId: created.id, name }]);
    assert.equal((await get(created.id)).statusCode, 404);
    assert.equal(
      (await node.request({ method: 'DELETE', url: `/v1/upstreams/${name}` })).statusCode,
      404,
    );
  });

  test('400 names the field, and never echoes a credential', async () => {
    const secret = testSecret();
    secrets.push(secret);
    const base = { name: uniqueName(), type: 'openai', baseUrl: 'https://a.test' };
    const cases: Array<[Record<string, unknown>, string, RegExp?]> = [
      [{ baseUrl: `https://user:${secret}@api.example.test` }, '/baseUrl', /secret/],
      [{ baseUrl: `https://${secret}@api.example.test` }, '/baseUrl', /secret/],
      [{ baseUrl: 'https://a.test/v1?api_key=x' }, '/baseUrl', /query/],
      [{ baseUrl: 'https://a.test/#x' }, '/baseUrl'],
      [{ baseUrl: 'ftp://a.test' }, '/baseUrl'],
      [{ baseUrl: '/relative' }, '/baseUrl'],
      [{ baseUrl: ' https://a.test' }, '/baseUrl'],
      [{ name: 'Bad_Name' }, 'body/name'],
      [{ name: '-leading' }, 'body/name'],
      [{ type: 'grpc' }, 'body/type'],
      [{ timeouts: { connectMs: 0 } }, 'body/timeouts/connectMs'],
      [{ timeouts: { bodyMs: 3_600_001 } }, 'body/timeouts/bodyMs'],
      [{ timeouts: { headersMs: 1.5 } }, 'body/timeouts/headersMs'],
      [{ timeouts: { idleMs: 5 } }, 'body/timeouts/idleMs'],
      [{ secret: `${secret}\n` }, '/secret'],
      [{ secret: `${secret}\r\nx-evil: 1` }, '/secret'],
      [{ secret: '' }, 'body/secret'],
      [{ secret: 'x'.repeat(4097) }, 'body/secret'],
      [{ authHeader: 'Host' }, '/authHeader'],
      [{ authHeader: 'transfer-encoding' }, '/authHeader'],
      [{ authHeader: 'bad header' }, '/authHeader'],
      [{ authScheme: 'Bea rer' }, '/authScheme'],
      [{ environments: [] }, 'body/environments'],
      [{ environments: ['prod', 'prod'] }, '/environments'],
      [{ routes: [{ method: 'FETCH', path: '/x', scope: 'x:read' }] }, '/routes/0/method'],
      [{ routes: [{ method: 'GET', path: 'x', scope: 'x:read' }] }, '/routes/0/path'],
      [{ routes: [{ method: 'GET', path: '/**/x', scope: 'x:read' }] }, '/routes/0/path'],
      [{ routes: [{ method: 'GET', path: '/a//b', scope: 'x:read' }] }, '/routes/0/path'],
      [{ routes: [{ method: 'GET', path: '/x', scope: 'x:delete' }] }, '/routes/0/scope'],
      [{ prices: { 'gpt-4o': { input: 1.1234567, output: 1 } } }, '/prices/gpt-4o/input'],
      [{ prices: { 'gpt-4o': { input: 1, output: -1 } } }, 'body/prices/gpt-4o/output'],
      [{ prices: { 'bad model!': { input: 1, output: 1 } } }, '/prices/bad model!'],
      [{ unknown: true }, 'body/unknown'],
    ];
    for (const [extra, field, message] of cases) {
      const res = await create({ ...base, ...extra });
      const label = JSON.stringify(extra).slice(0, 80);
      assert.equal(res.statusCode, 400, `${label}: ${res.body}`);
      assert.equal(res.json().code, 'VALIDATION_FAILED');
      assert.equal(res.json().errors[0].field, field, label);
      if (message) assert.match(res.json().errors[0].message, message, label);
      assert.ok(!res.body.includes(secret), `${label}: the answer echoes the secret`);
    }
    const name = uniqueName();
    await create({ name, type: 'http', baseUrl: 'https://a.test' });
    const bad = await patch(name, { baseUrl: `https://u:${secret}@a.test` });
    assert.equal(bad.statusCode, 400);
    assert.ok(!bad.body.includes(secret));
    assert.equal(
      (await patch(name, { type: 'openai' })).json().errors[0].field,
      'body/type',
      'the type cannot change',
    );
    assert.equal((await get(name)).json().baseUrl, 'https://a.test', 'nothing was changed');
  });

  test('401 without a management key, 403 without the upstreams scope', async () => {
    const payload = { name: uniqueName(), type: 'http', baseUrl: 'https://a.test' };
    assert.equal((await create(payload, null)).statusCode, 401);
    const apiKey = (await node.createKey({ scopes: ['admin'] })).key;
    assert.equal((await create(payload, apiKey)).statusCode, 401);
    const keysOnly = await node.managementKey(['keys:admin']);
    assert.equal((await create(payload, keysOnly)).statusCode, 403);
    const reader = await node.managementKey(['upstreams:read']);
    assert.equal((await create(payload, reader)).statusCode, 403);
    const list = await node.request({ method: 'GET', url: '/v1/upstreams', key: reader });
    assert.equal(list.statusCode, 200);
    const writer = await node.managementKey(['upstreams:write']);
    assert.equal((await create(payload, writer)).statusCode, 201);
  });

  test('changes are audited with secretChanged, never the secret', async () => {
    const name = uniqueName();
    const secret = testSecret();
    secrets.push(secret);
    const created = (
      await create({ name, type: 'openai', baseUrl: 'https://a.test', secret })
    ).json();
    await patch(name, { secret: testSecret() });
    await patch(name, { authScheme: null });
    await node.request({ method: 'DELETE', url: `/v1/upstreams/${name}` });
    const audit = (
      await node.request({ method: 'GET', url: `/v1/audit?targetId=${created.id}` })
    ).json();
    assert.deepEqual(
      audit.data.map((e: { action: string; details: { secretChanged?: boolean } }) => [
        e.action,
        e.details.secretChanged,
      ]),
      [
        ['upstream.delete', undefined],
        ['upstream.update', false],
        ['upstream.update', true],
        ['upstream.create', true],
      ],
    );
    assert.equal(audit.data[3].details.baseUrl, 'https://a.test');
    assert.match(audit.data[0].actorDisplay, /^kwadmin_mgmt_…/, 'who, by display form');
  });

  test('the service works without HTTP too (the CLI actor), with the same validation', async () => {
    const name = uniqueName();
    await assert.rejects(
      node.kw.upstreams.create(
        { name, type: 'openai', baseUrl: 'https://a.test', secret: 'a\nb' },
        CLI_ACTOR,
      ),
      /\/secret/,
    );
    const made = await node.kw.upstreams.create(
      { name, type: 'openai', baseUrl: 'https://a.test' },
      CLI_ACTOR,
    );
    assert.equal(made.secretSealed, null);
  });

  test('a new origin needs the secret again: upstreams:write cannot send it elsewhere', async () => {
    const secret = testSecret();
    secrets.push(secret);
    const name = uniqueName();
    const created = (
      await create({ name, type: 'openai', baseUrl: 'https://a.test/v1', secret })
    ).json();
    const writer = await node.managementKey(['upstreams:write']);
    const patchAs = (key: string, payload: Record<string, unknown>) =>
      node.request({ method: 'PATCH', url: `/v1/upstreams/${name}`, payload, key });

    // Another host, scheme or port, without the secret: refused, naming the field.
    for (const baseUrl of ['https://evil.test/v1', 'http://a.test/v1', 'https://a.test:8443/v1']) {
      const moved = await patchAs(writer, { baseUrl });
      assert.equal(moved.statusCode, 400, baseUrl);
      assert.match(String(moved.headers['content-type']), /^application\/problem\+json/);
      assert.equal(moved.json().errors[0].field, '/secret', baseUrl);
    }
    assert.equal((await get(name)).json().baseUrl, 'https://a.test/v1', 'nothing was changed');
    assert.equal((await node.kw.upstreams.resolve(name))?.secret, secret);

    // The flag is for upstreams:admin only.
    const flagged = await patchAs(writer, {
      baseUrl: 'https://evil.test/v1',
      keepSecretOnOriginChange: true,
    });
    assert.equal(flagged.statusCode, 403);
    assert.equal(flagged.json().code, 'INSUFFICIENT_SCOPE');
    assert.match(flagged.json().detail, /upstreams:admin/);
    assert.equal((await get(name)).json().baseUrl, 'https://a.test/v1');

    // Same origin, another path: the secret stays with the same server.
    assert.equal((await patchAs(writer, { baseUrl: 'https://a.test/v2' })).statusCode, 200);
    // With the secret given again (or removed), a writer may move it.
    const second = testSecret();
    secrets.push(second);
    const moved = await patchAs(writer, { baseUrl: 'https://b.test/v1', secret: second });
    assert.equal(moved.statusCode, 200, moved.body);
    assert.equal((await node.kw.upstreams.resolve(name))?.secret, second);
    // An admin may move it with the secret it has, saying so.
    const admin = await node.managementKey(['upstreams:admin']);
    const kept = await patchAs(admin, {
      baseUrl: 'https://c.test/v1',
      keepSecretOnOriginChange: true,
    });
    assert.equal(kept.statusCode, 200, kept.body);
    assert.equal((await node.kw.upstreams.resolve(name))?.secret, second);
    // Without a secret there is nothing to exfiltrate: no need to give one.
    assert.equal((await patchAs(writer, { secret: null })).statusCode, 200);
    assert.equal((await patchAs(writer, { baseUrl: 'https://d.test' })).statusCode, 200);

    const audit = (
      await node.request({ method: 'GET', url: `/v1/audit?targetId=${created.id}` })
    ).json();
    const updates = audit.data
      .filter((e: { action: string }) => e.action === 'upstream.update')
      .reverse()
      .map((e: { details: Record<string, unknown> }) => e.details);
    assert.deepEqual(
      updates.map((d: Record<string, unknown>) => [
        d.previousOrigin,
        d.origin,
        d.secretChanged,
        d.secretKeptOnOriginChange,
      ]),
      [
        [undefined, undefined, false, undefined],
        ['https://a.test', 'https://b.test', true, undefined],
        ['https://b.test', 'https://c.test', false, true],
        [undefined, undefined, true, undefined],
        ['https://c.test', 'https://d.test', false, undefined],
      ],
    );
    assert.ok(!JSON.stringify(audit).includes(secret) && !JSON.stringify(audit).includes(second));
  });

  test('no secret in any answer, log line, audit entry, or the database files', async () => {
    // Every secret this suite set, plus one more, through every route.
    const secret = testSecret();
    secrets.push(secret);
    const name = uniqueName();
    await create({ name, type: 'openai', baseUrl: 'https://a.test', secret });
    const answers = [
      await get(name),
      await node.request({ method: 'GET', url: '/v1/upstreams' }),
      await patch(name, { secret: testSecret() }),
      await node.request({ method: 'GET', url: '/v1/audit?limit=500' }),
      await node.request({ method: 'GET', url: '/openapi.json' }),
    ];
    const files = readdirSync(node.dataDir).map((f) => join(node.dataDir, f));
    assert.ok(files.some((f) => f.endsWith('keywarden.db')));
    const logs = node.logs.join('');
    const audit = JSON.stringify(await node.kw.store.audit.scan(0, 10_000));
    for (const s of secrets) {
      for (const res of answers) assert.ok(!res.body.includes(s), 'a secret in an answer');
      assert.ok(!logs.includes(s), 'a secret in the logs');
      assert.ok(!logs.includes(s.slice(-12)), 'a long fragment of a secret in the logs');
      assert.ok(!audit.includes(s), 'a secret in the audit log');
      for (const file of files)
        assert.equal(readFileSync(file).includes(s), false, `a secret in ${file}`);
    }
    const spec = answers[4]!.json();
    for (const operation of [
      spec.paths['/v1/upstreams'].post,
      spec.paths['/v1/upstreams/{id}'].patch,
    ])
      assert.match(
        JSON.stringify(operation.requestBody),
        /"secret":\{"anyOf":\[\{[^}]*"x-keywarden-secret":true/,
        'the secret field is marked as a secret in the OpenAPI document',
      );
  });
});

describe('upstreams API: the host policy on baseUrl', () => {
  let node: TestNode;
  before(async () => {
    node = await startTestNode({
      env: { KEYWARDEN_UPSTREAM_ALLOW_LOOPBACK: 'false' },
      upstreamNetwork: testUpstreamNetwork({
        names: {
          'evil.test': ['169.254.169.254'],
          'mixed.test': ['198.51.100.7', 'fe80::1'],
          'ollama.test': ['127.0.0.1'],
          'models.test': ['10.0.0.5'],
        },
      }),
    });
  });
  after(() => node.close());

  let counter = 0;
  const create = (baseUrl: string) =>
    node.request({
      method: 'POST',
      url: '/v1/upstreams',
      payload: { name: `policy-${++counter}`, type: 'http', baseUrl },
    });

  test('link-local, metadata, unspecified, loopback: 400 naming baseUrl, on create and update', async () => {
    const refused = [
      'http://169.254.169.254/latest',
      'http://2852039166/',
      'http://0251.0376.0251.0376/',
      'http://0xa9fea9fe/',
      'http://[fe80::1]/',
      'http://[::ffff:169.254.169.254]/',
      'http://[::169.254.169.254]/',
      'http://[64:ff9b::169.254.169.254]/',
      'http://metadata.google.internal/computeMetadata/v1',
      'http://0.0.0.0:8080',
      'http://[::]:8080',
      'http://127.0.0.1:11434',
      'http://localhost:11434',
      'http://[::1]:11434',
      'http://evil.test/',
      'http://mixed.test/',
      'http://ollama.test:11434/',
    ];
    for (const baseUrl of refused) {
      const res = await create(baseUrl);
      assert.equal(res.statusCode, 400, baseUrl);
      assert.equal(res.json().code, 'VALIDATION_FAILED', baseUrl);
      assert.equal(res.json().errors[0].field, '/baseUrl', baseUrl);
    }
    const ok = await create('http://10.0.0.5:3000/api');
    assert.equal(ok.statusCode, 201, ok.body);
    for (const baseUrl of ['http://169.254.169.254', 'http://localhost:3000']) {
      const res = await node.request({
        method: 'PATCH',
        url: `/v1/upstreams/${ok.json().id}`,
        payload: { baseUrl },
      });
      assert.equal(res.statusCode, 400, baseUrl);
      assert.equal(res.json().errors[0].field, '/baseUrl');
    }
    assert.equal((await node.kw.upstreams.get(ok.json().id)).baseUrl, 'http://10.0.0.5:3000/api');
  });

  test('private networks and names that resolve there are allowed', async () => {
    for (const baseUrl of [
      'http://10.0.0.5:3000/api',
      'http://192.168.1.20',
      'http://[fd12::5]:8000',
      'http://models.test:8000/v1',
      'https://api.openai.test',
    ]) {
      assert.equal((await create(baseUrl)).statusCode, 201, baseUrl);
    }
  });

  test("loopback with KEYWARDEN_UPSTREAM_ALLOW_LOOPBACK=true, but never keywarden's own port", async () => {
    const loopbackNode = await startTestNode();
    try {
      await loopbackNode.app.listen({ port: 0, host: '127.0.0.1' });
      const port = (loopbackNode.app.server.address() as AddressInfo).port;
      const createOn = (baseUrl: string) =>
        loopbackNode.request({
          method: 'POST',
          url: '/v1/upstreams',
          payload: { name: `loop-${++counter}`, type: 'http', baseUrl },
        });
      assert.equal((await createOn('http://127.0.0.1:11434')).statusCode, 201);
      assert.equal((await createOn('http://localhost:11434')).statusCode, 201);
      for (const baseUrl of [`http://127.0.0.1:${port}`, `http://localhost:${port}/v1`]) {
        const self = await createOn(baseUrl);
        assert.equal(self.statusCode, 400, baseUrl);
        assert.match(self.json().errors[0].message, /own listening address/);
      }
      assert.equal((await createOn('http://169.254.169.254')).statusCode, 400);
    } finally {
      await loopbackNode.close();
    }
  });
});
