import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BASE62_ALPHABET } from '@keywarden/core';
import { CLI_ACTOR } from '../audit/index.ts';
import { startTestNode, type TestNode } from '../testing/harness.ts';

/**
 * Plants secrets — a real keywarden API key, a real management key, and provider-format
 * secrets made at run time — in every text field, path segment and stored header of every
 * write route, then searches the bytes of the SQLite store (database and WAL) for them.
 * Identifier fields must refuse them with a 400 naming the field; free text must keep only
 * the redacted form; nothing may reach the store in plaintext.
 */
const base62 = (length: number) =>
  Array.from(randomBytes(length), (b) => BASE62_ALPHABET[b % 62]).join('');
// Assembled at run time: no secret-shaped literal in the repository.
const providerSecrets = () => [`${'sk'}-proj-${base62(48)}`, `${'gh'}p_${base62(36)}`];

type Kind = 'identifier' | 'free';
interface Problem {
  errors?: { field: string }[];
}
interface Plant {
  label: string;
  kind: Kind;
  /** Where a refusal must point (a substring of `errors[0].field`). */
  field?: string;
  send(secret: string): Promise<{ statusCode: number; body: string; json(): Problem }>;
}

describe('secrets planted in every field never reach the store', () => {
  let node: TestNode;
  let secrets: string[];
  before(async () => {
    node = await startTestNode();
    const apiKey = (await node.createKey({ name: 'victim' })).key;
    const managementKey = await node.managementKey(['keys:read']);
    secrets = [apiKey, managementKey, ...providerSecrets()];
  });
  after(() => node.close());

  let n = 0;
  const unique = () => `p${++n}`;
  const req = (method: string, url: string, payload?: unknown, headers?: Record<string, string>) =>
    node.request({ method: method as 'POST', url, payload: payload as object, headers });
  const keyId = async () => (await node.createKey({ name: unique() })).id;
  const upstream = async () =>
    (
      await node.kw.upstreams.create(
        { name: `up-${unique()}`, type: 'http', baseUrl: 'http://10.0.0.5:8080' },
        CLI_ACTOR,
      )
    ).id;

  const plants: Plant[] = [
    // The route a usage event records, with the secret across the 200 characters it keeps:
    // redacted first, then cut (cut first, the redactor no longer knew the key).
    {
      label: 'GET /v1/auth, the secret in X-Original-URI across character 200',
      kind: 'free',
      send: (s) =>
        node.app.inject({
          method: 'GET',
          url: '/v1/auth',
          headers: {
            'x-api-key': secrets[0] as string,
            'x-original-uri': `/${'a'.repeat(154)}/${s}`,
          },
        }),
    },
    // POST /v1/keys
    {
      label: 'create name',
      kind: 'free',
      send: (s) => req('POST', '/v1/keys', { name: `a ${s} b` }),
    },
    { label: 'create name alone', kind: 'free', send: (s) => req('POST', '/v1/keys', { name: s }) },
    {
      label: 'create ownerId',
      kind: 'identifier',
      field: 'ownerId',
      send: (s) => req('POST', '/v1/keys', { name: 'x', ownerId: s }),
    },
    {
      label: 'create ownerId glued',
      kind: 'identifier',
      field: 'ownerId',
      send: (s) => req('POST', '/v1/keys', { name: 'x', ownerId: `team-${s}` }),
    },
    {
      label: 'create project',
      kind: 'identifier',
      field: 'project',
      send: (s) => req('POST', '/v1/keys', { name: 'x', project: s }),
    },
    {
      label: 'create scope',
      kind: 'identifier',
      field: 'scopes/0',
      send: (s) => req('POST', '/v1/keys', { name: 'x', scopes: [`${s}:read`] }),
    },
    {
      label: 'create allowedIps',
      kind: 'identifier',
      field: 'allowedIps/0',
      send: (s) => req('POST', '/v1/keys', { name: 'x', allowedIps: [s] }),
    },
    {
      label: 'create models',
      kind: 'identifier',
      field: 'models/0',
      send: (s) => req('POST', '/v1/keys', { name: 'x', models: [s] }),
    },
    {
      label: 'create meta value',
      kind: 'free',
      send: (s) => req('POST', '/v1/keys', { name: 'x', meta: { note: `see ${s}` } }),
    },
    {
      label: 'create meta key',
      kind: 'free',
      send: (s) => req('POST', '/v1/keys', { name: 'x', meta: { [s]: true } }),
    },
    {
      label: 'create nested meta',
      kind: 'free',
      send: (s) => req('POST', '/v1/keys', { name: 'x', meta: { a: [{ [s]: s }] } }),
    },
    {
      label: 'create Idempotency-Key',
      kind: 'free',
      send: (s) => req('POST', '/v1/keys', { name: 'x' }, { 'idempotency-key': s }),
    },
    {
      label: 'create X-Request-Id',
      kind: 'free',
      send: (s) => req('POST', '/v1/keys', { name: 'x' }, { 'x-request-id': s }),
    },
    // PATCH /v1/keys/:id
    {
      label: 'update name',
      kind: 'free',
      send: async (s) => req('PATCH', `/v1/keys/${await keyId()}`, { name: s }),
    },
    {
      label: 'update ownerId',
      kind: 'identifier',
      field: 'ownerId',
      send: async (s) => req('PATCH', `/v1/keys/${await keyId()}`, { ownerId: s }),
    },
    {
      label: 'update meta key',
      kind: 'free',
      send: async (s) => req('PATCH', `/v1/keys/${await keyId()}`, { meta: { [s]: s } }),
    },
    {
      label: 'update models',
      kind: 'identifier',
      field: 'models/0',
      send: async (s) => req('PATCH', `/v1/keys/${await keyId()}`, { models: [s] }),
    },
    // Revocations with a reason.
    {
      label: 'revoke reason',
      kind: 'free',
      send: async (s) =>
        req('POST', `/v1/keys/${await keyId()}/revoke`, { reason: `leaked: ${s}` }),
    },
    {
      label: 'rotate idempotency',
      kind: 'free',
      send: async (s) =>
        req('POST', `/v1/keys/${await keyId()}/rotate`, {}, { 'idempotency-key': s }),
    },
    {
      label: 'bulk revoke reason',
      kind: 'free',
      send: (s) =>
        req('POST', '/v1/keys/bulk/revoke', { filter: { ownerId: `o-${unique()}` }, reason: s }),
    },
    {
      label: 'bulk revoke ownerId',
      kind: 'identifier',
      field: 'ownerId',
      send: (s) => req('POST', '/v1/keys/bulk/revoke', { filter: { ownerId: s } }),
    },
    {
      label: 'bulk rotate ownerId',
      kind: 'identifier',
      field: 'ownerId',
      send: (s) => req('POST', '/v1/keys/bulk/rotate', { filter: { ownerId: s } }),
    },
    {
      label: 'admin-key revoke reason',
      kind: 'free',
      send: async (s) => {
        const { record } = await node.kw.keys.create({ name: unique() }, CLI_ACTOR, 'management');
        return req('POST', `/v1/admin-keys/${record.id}/revoke`, { reason: s });
      },
    },
    // The verify API keeps the caller's `ip` as the key's last-used address.
    {
      label: 'verify ip',
      kind: 'identifier',
      field: 'ip',
      send: async (s) =>
        req('POST', '/v1/verify', { key: (await node.createKey({ name: unique() })).key, ip: s }),
    },
    // Owners: the id is the path.
    {
      label: 'owner PUT id',
      kind: 'identifier',
      field: 'id',
      send: (s) => req('PUT', `/v1/owners/${encodeURIComponent(s)}`, { ratelimits: [] }),
    },
    {
      label: 'owner PUT id glued',
      kind: 'identifier',
      field: 'id',
      send: (s) =>
        req('PUT', `/v1/owners/team:${encodeURIComponent(s)}`, { credits: { remaining: 1 } }),
    },
    {
      label: 'owner DELETE id',
      kind: 'identifier',
      field: 'id',
      send: (s) => req('DELETE', `/v1/owners/${encodeURIComponent(s)}`),
    },
    // Projects.
    {
      label: 'project name',
      kind: 'identifier',
      send: (s) => req('POST', '/v1/projects', { name: s, prefix: 'pp' }),
    },
    {
      label: 'project rename',
      kind: 'identifier',
      send: (s) => req('PATCH', '/v1/projects/default', { name: s.toLowerCase() }),
    },
    // Upstreams.
    {
      label: 'upstream baseUrl path',
      kind: 'identifier',
      field: 'baseUrl',
      send: (s) =>
        req('POST', '/v1/upstreams', {
          name: `u-${unique()}`,
          type: 'http',
          baseUrl: `http://10.0.0.5/${s}/v1`,
        }),
    },
    {
      label: 'upstream baseUrl host',
      kind: 'identifier',
      field: 'baseUrl',
      send: (s) =>
        req('POST', '/v1/upstreams', {
          name: `u-${unique()}`,
          type: 'http',
          baseUrl: `http://${s}.example/`,
        }),
    },
    {
      label: 'upstream name',
      kind: 'identifier',
      send: (s) =>
        req('POST', '/v1/upstreams', {
          name: s.toLowerCase(),
          type: 'http',
          baseUrl: 'http://10.0.0.5',
        }),
    },
    {
      label: 'upstream authHeader',
      kind: 'identifier',
      field: 'authHeader',
      send: (s) =>
        req('POST', '/v1/upstreams', {
          name: `u-${unique()}`,
          type: 'http',
          baseUrl: 'http://10.0.0.5',
          authHeader: s,
        }),
    },
    {
      label: 'upstream authScheme',
      kind: 'identifier',
      field: 'authScheme',
      send: (s) =>
        req('POST', '/v1/upstreams', {
          name: `u-${unique()}`,
          type: 'http',
          baseUrl: 'http://10.0.0.5',
          authScheme: s,
        }),
    },
    {
      label: 'upstream route path',
      kind: 'identifier',
      field: 'routes/0/path',
      send: (s) =>
        req('POST', '/v1/upstreams', {
          name: `u-${unique()}`,
          type: 'http',
          baseUrl: 'http://10.0.0.5',
          routes: [{ method: 'GET', path: `/${s}`, scope: 'read' }],
        }),
    },
    {
      label: 'upstream price model',
      kind: 'identifier',
      field: 'prices',
      send: (s) =>
        req('POST', '/v1/upstreams', {
          name: `u-${unique()}`,
          type: 'openai',
          baseUrl: 'http://10.0.0.5',
          prices: { [s]: { input: 1, output: 1 } },
        }),
    },
    {
      label: 'upstream PATCH baseUrl',
      kind: 'identifier',
      field: 'baseUrl',
      send: async (s) =>
        req('PATCH', `/v1/upstreams/${await upstream()}`, { baseUrl: `http://10.0.0.5/v1/${s}` }),
    },
    // The upstream's secret field is where a provider secret belongs: stored sealed.
    {
      label: 'upstream secret (sealed)',
      kind: 'free',
      send: (s) =>
        req('POST', '/v1/upstreams', {
          name: `u-${unique()}`,
          type: 'http',
          baseUrl: 'http://10.0.0.5',
          secret: s,
        }),
    },
  ];

  test('identifier fields refuse a planted secret with a 400 naming the field; free text is accepted', async () => {
    for (const plant of plants) {
      for (const secret of secrets) {
        const res = await plant.send(secret);
        const label = `${plant.label} (${secret.slice(0, 4)}…): ${res.statusCode} ${res.body.slice(0, 300)}`;
        assert.ok(res.statusCode < 500, label);
        assert.ok(!res.body.includes(secret), `the answer echoes the secret: ${label}`);
        if (plant.kind === 'free') assert.ok(res.statusCode < 300, label);
        else {
          assert.equal(res.statusCode, 400, label);
          if (plant.field) assert.ok(res.json().errors?.[0]?.field.includes(plant.field), label);
        }
      }
    }
  });

  test('… and the SQLite database and its WAL hold none of them, not even in part', async () => {
    await node.kw.lastUsed.flush();
    await node.kw.usage.flush();
    const files = readdirSync(node.dataDir)
      .filter((f) => f.includes('.db'))
      .map((f) => join(node.dataDir, f));
    assert.ok(
      files.some((f) => f.endsWith('-wal')),
      `a WAL to search: ${files.join(', ')}`,
    );
    for (const file of files) {
      const bytes = readFileSync(file);
      for (const secret of secrets) {
        const middle = secret.slice(10, 34);
        assert.equal(bytes.includes(secret), false, `${secret.slice(0, 4)}… in ${file}`);
        assert.equal(bytes.includes(middle), false, `part of ${secret.slice(0, 4)}… in ${file}`);
      }
    }
  });
});
