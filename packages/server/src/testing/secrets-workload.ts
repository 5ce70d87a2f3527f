import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKey } from '@keywarden/core';
import type { InjectOptions } from 'fastify';
import { type MockOpenAI, startMockOpenAI } from '../gateway/testing/mock-openai.ts';
import type { TestNode } from './harness.ts';
import { keysIn } from './secrets-sweep.ts';

/**
 * Real use of every write route, with secrets everywhere a careless client or an attacker
 * puts them, so that a sweep of what the node keeps at rest can look for them afterwards:
 * keys created, rotated (singly and in bulk), revoked, disabled, deleted; management keys;
 * upstreams with provider secrets (set, rotated, deleted) and a gateway call through one;
 * verifications with the key in every position; leak reports signed as GitHub signs them; and
 * bad requests that carry keys (in names, meta keys and values, owner ids, reasons, URLs,
 * request ids, idempotency keys, broken JSON, unknown routes).
 *
 * Returns every plaintext secret that the node saw, for the sweep. Statuses are not asserted
 * here beyond what the next step needs: refusing a planted key is as good as redacting it.
 */
export interface GitHubSigner {
  /** Pass as KEYWARDEN_GITHUB_KEYS_FILE (with KEYWARDEN_GITHUB_KEYS_URL=off). */
  file: string;
  headers(body: string): Record<string, string>;
}

export function githubSigner(): GitHubSigner {
  const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const file = join(mkdtempSync(join(tmpdir(), 'kw-sweep-gh-')), 'github-keys.json');
  const keyId = randomUUID().replaceAll('-', '');
  const pem = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  writeFileSync(
    file,
    JSON.stringify({ public_keys: [{ key_identifier: keyId, key: pem, is_current: true }] }),
  );
  return {
    file,
    headers: (body) => ({
      'content-type': 'application/json',
      'github-public-key-identifier': keyId,
      'github-public-key-signature': sign('sha256', Buffer.from(body), pair.privateKey).toString(
        'base64',
      ),
    }),
  };
}

export async function exerciseEveryWriteRoute(
  node: TestNode,
  github: GitHubSigner,
): Promise<{ secrets: string[]; close(): Promise<void> }> {
  const secrets = new Set<string>([node.adminKey]);
  const call = async (options: InjectOptions & { key?: string | null }) => {
    const res = await node.request(options);
    try {
      for (const key of keysIn(res.json())) secrets.add(key);
    } catch {
      // not JSON: nothing minted
    }
    return res;
  };
  const create = async (payload: Record<string, unknown>) => {
    const res = await call({ method: 'POST', url: '/v1/keys', payload: { name: 'k', ...payload } });
    return res.statusCode === 201 ? (res.json() as { id: string; key: string }) : null;
  };

  // Keys, and a management key made the way operators make them.
  await call({
    method: 'POST',
    url: '/v1/projects',
    payload: { name: 'sweep', prefix: 'swp', allowQueryKey: true },
  });
  const a = await create({ name: 'a', scopes: ['read', 'openai:write'], ownerId: 'owner-a' });
  const b = await create({ name: 'b', project: 'sweep', meta: { team: 'x' } });
  if (!a || !b) throw new Error('the sweep could not create its keys');
  const management = await node.managementKey(['keys:read']);
  secrets.add(management);
  const foreign = generateKey({ prefix: 'kw', env: 'prod' });
  secrets.add(foreign);

  // Planted: a real key in every field a client may fill.
  const plant = a.key;
  await create({ name: `copy of ${plant}` });
  await create({
    name: 'meta',
    meta: { note: plant, [plant]: 'as a key', nested: { deep: [plant] } },
  });
  await create({ name: 'owner', ownerId: plant });
  await create({ name: 'scopes', scopes: [plant] });
  await create({ name: 'ips', allowedIps: [plant] });
  await call({
    method: 'PATCH',
    url: `/v1/keys/${b.id}`,
    payload: { name: plant, meta: { [plant]: plant } },
  });
  await call({
    method: 'PUT',
    url: `/v1/owners/${plant}`,
    payload: { credits: { remaining: 10 } },
  });
  await call({ method: 'PUT', url: '/v1/owners/owner-a', payload: { credits: { remaining: 10 } } });
  await call({ method: 'GET', url: `/v1/keys?ownerId=${plant}` });
  await call({ method: 'GET', url: `/v1/audit?targetId=${plant}` });

  // Verification with the key in every position, good and bad.
  for (const key of [a.key, b.key, `${a.key.slice(0, -1)}x`, foreign]) {
    await node.app.inject({ url: '/v1/auth', headers: { authorization: `Bearer ${key}` } });
    await node.app.inject({ url: '/v1/auth', headers: { 'x-api-key': key } });
    await node.app.inject({ url: `/v1/auth?api_key=${key}` });
    await node.app.inject({
      url: `/v1/auth/${key}`,
      headers: { 'x-forwarded-uri': `/x?api_key=${key}`, 'x-api-key': key },
    });
    await call({ method: 'POST', url: '/v1/verify', payload: { key, scopes: ['admin'] } });
    await call({ method: 'POST', url: '/v1/verify', payload: { key: b.key, env: key } });
  }

  // Bad requests carrying keys.
  await call({
    method: 'POST',
    url: '/v1/keys',
    payload: `{"name":"${plant}"`,
    headers: { 'content-type': 'application/json' },
  });
  await call({
    method: 'POST',
    url: '/v1/keys',
    payload: `name=${plant}`,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  await call({ method: 'GET', url: `/v1/nothing/${plant}` });
  await call({ method: 'GET', url: `/v1/keys/${plant}` });
  await call({ method: 'GET', url: '/v1/keys', key: `${plant}x` });
  await call({ method: 'GET', url: '/v1/keys', key: plant });
  await call({ method: 'GET', url: '/v1/keys', headers: { 'x-request-id': plant } });
  await call({
    method: 'POST',
    url: '/v1/keys',
    payload: { name: 'idem' },
    headers: { 'idempotency-key': plant },
  });
  await call({
    method: 'POST',
    url: '/v1/keys',
    payload: { name: 'idem' },
    headers: { 'idempotency-key': plant },
  });

  // Lifecycle: rotate, revoke with a reason, disable, enable, bulk, delete.
  const c = await create({ name: 'c', project: 'sweep', ownerId: 'owner-c' });
  const d = await create({ name: 'd', project: 'sweep', ownerId: 'owner-c' });
  if (!c || !d) throw new Error('the sweep could not create its keys');
  await call({
    method: 'POST',
    url: `/v1/keys/${c.id}/rotate`,
    payload: { gracePeriodSeconds: 60 },
    headers: { 'idempotency-key': 'sweep-rotate' },
  });
  await call({
    method: 'POST',
    url: `/v1/keys/${c.id}/rotate`,
    payload: { gracePeriodSeconds: 60 },
    headers: { 'idempotency-key': 'sweep-rotate' },
  });
  await call({ method: 'POST', url: `/v1/keys/${d.id}/disable` });
  await call({ method: 'POST', url: `/v1/keys/${d.id}/enable` });
  await call({
    method: 'POST',
    url: '/v1/keys/bulk/rotate',
    payload: { filter: { ownerId: 'owner-c' }, gracePeriodSeconds: 0 },
  });
  await call({
    method: 'POST',
    url: '/v1/keys/bulk/revoke',
    payload: { filter: { ownerId: 'owner-c' }, reason: `leaked: ${plant}` },
  });
  await call({
    method: 'POST',
    url: `/v1/keys/${b.id}/revoke`,
    payload: { reason: `found ${b.key} in a gist` },
  });
  await node.app.inject({ url: '/v1/auth', headers: { 'x-api-key': b.key } });
  await call({ method: 'DELETE', url: `/v1/keys/${b.id}` });
  const mgmtList = await call({ method: 'GET', url: '/v1/admin-keys' });
  const mgmtId = (mgmtList.json() as { data?: Array<{ id: string; name: string }> }).data?.find(
    (k) => k.name.startsWith('mgmt'),
  )?.id;
  if (mgmtId)
    await call({
      method: 'POST',
      url: `/v1/admin-keys/${mgmtId}/revoke`,
      payload: { reason: `rotating ${management}` },
    });
  await call({ method: 'GET', url: '/v1/keys', key: management });

  // Upstreams: provider secrets set, rotated, refused, deleted; a gateway call through one.
  const providerSecret = `sk-test-${randomUUID()}`;
  const rotatedSecret = `sk-test-${randomUUID()}`;
  const doomedSecret = `svc-${randomUUID()}`;
  secrets.add(providerSecret).add(rotatedSecret).add(doomedSecret);
  const mock: MockOpenAI = await startMockOpenAI({ apiKey: rotatedSecret });
  await call({
    method: 'POST',
    url: '/v1/upstreams',
    payload: { name: 'openai', type: 'openai', baseUrl: mock.url, secret: providerSecret },
  });
  await call({ method: 'PATCH', url: '/v1/upstreams/openai', payload: { secret: rotatedSecret } });
  await call({
    method: 'POST',
    url: '/v1/upstreams',
    payload: { name: 'doomed', type: 'http', baseUrl: `${mock.url}/x`, secret: doomedSecret },
  });
  await call({ method: 'DELETE', url: '/v1/upstreams/doomed' });
  await call({
    method: 'POST',
    url: '/v1/upstreams',
    payload: { name: 'bad', type: 'http', baseUrl: 'not a url', secret: `svc-${providerSecret}` },
  });
  await call({
    method: 'POST',
    url: '/v1/upstreams',
    payload: { name: 'inpath', type: 'http', baseUrl: `${mock.url}/${plant}`, secret: null },
  });
  for (const key of [a.key, `${a.key.slice(0, -1)}x`]) {
    await node.app.inject({
      method: 'POST',
      url: '/gw/openai/v1/chat/completions',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      payload: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `my key is ${key}` }] },
    });
  }

  // GitHub reports a leak: one of ours and one that is not.
  const report = JSON.stringify([
    {
      token: a.key,
      type: 'keywarden_api_key',
      url: 'https://github.com/o/r/blob/x/.env',
      source: 'content',
    },
    { token: foreign, type: 'keywarden_api_key', url: 'https://gist.github.com/x', source: 'gist' },
  ]);
  await node.app.inject({
    method: 'POST',
    url: '/v1/leaks/github',
    payload: report,
    headers: github.headers(report),
  });

  await node.kw.lastUsed.flush();
  await node.kw.usage.flush();
  return { secrets: [...secrets], close: () => mock.close() };
}
