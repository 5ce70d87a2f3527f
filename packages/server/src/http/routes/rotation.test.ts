import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { checkKeyFormat } from '@keywarden/core';
import { manualClock } from '../../clock/index.ts';
import { startTestNode, type TestNode } from '../../testing/harness.ts';

describe('rotation, rotation policy and emergency actions', () => {
  const clock = manualClock(Date.UTC(2026, 8, 1));
  let node: TestNode;
  before(async () => {
    node = await startTestNode({ clock });
  });
  after(() => node.close());

  const auth = (key: string) => node.app.inject({ url: '/v1/auth', headers: { 'x-api-key': key } });
  const rotate = (id: string, payload?: object, headers: Record<string, string> = {}) =>
    node.request({ method: 'POST', url: `/v1/keys/${id}/rotate`, payload, headers });

  test('rotate: same settings, new key once; the old key works until the grace ends, then EXPIRED', async () => {
    const old = await node.createKey({
      name: 'svc',
      env: 'prod',
      scopes: ['billing:read'],
      ownerId: 'team',
      meta: { a: 1 },
      allowedIps: ['127.0.0.1'],
      ratelimits: [{ name: 'r', limit: 10, windowSeconds: 60 }],
    });
    const res = await rotate(old.id, { gracePeriodSeconds: 3600 });
    assert.equal(res.statusCode, 201);
    const fresh = res.json();
    assert.equal(checkKeyFormat(fresh.key).ok, true);
    assert.match(fresh.key, /^kw_prod_/);
    assert.notEqual(fresh.key, old.key);
    for (const field of [
      'name',
      'env',
      'scopes',
      'ownerId',
      'meta',
      'allowedIps',
      'ratelimits',
      'projectId',
    ]) {
      const before = (await node.request({ method: 'GET', url: `/v1/keys/${old.id}` })).json();
      assert.deepEqual(fresh[field], before[field], field);
    }
    assert.equal(fresh.rotatedFromId, old.id);
    const previous = (await node.request({ method: 'GET', url: `/v1/keys/${old.id}` })).json();
    assert.equal(previous.rotatedToId, fresh.id);
    assert.equal(previous.expiresAt, new Date(clock.now() + 3_600_000).toISOString());

    assert.equal((await auth(old.key)).statusCode, 200);
    assert.equal((await auth(fresh.key)).statusCode, 200);
    clock.advance(3_600_000);
    const expired = await auth(old.key);
    assert.equal(expired.statusCode, 401);
    assert.equal(expired.json().code, 'EXPIRED');
    assert.equal((await auth(fresh.key)).statusCode, 200);
  });

  test('rotate with no grace (0): the old key stops at once', async () => {
    const old = await node.createKey();
    await auth(old.key);
    assert.equal((await rotate(old.id)).statusCode, 201);
    assert.equal((await auth(old.key)).json().code, 'EXPIRED');
  });

  test('a rotated key cannot be rotated again; a revoked one cannot be rotated', async () => {
    const old = await node.createKey();
    await rotate(old.id, { gracePeriodSeconds: 60 });
    const again = await rotate(old.id, { gracePeriodSeconds: 60 });
    assert.equal(again.statusCode, 409);
    assert.equal(again.json().code, 'KEY_STATE_CONFLICT');
    const revoked = await node.createKey();
    await node.request({ method: 'POST', url: `/v1/keys/${revoked.id}/revoke` });
    assert.equal((await rotate(revoked.id)).statusCode, 409);
    assert.equal((await rotate(old.id, { gracePeriodSeconds: -1 })).statusCode, 400);
    assert.equal((await rotate(old.id, { gracePeriodSeconds: 99 * 86_400 })).statusCode, 400);
  });

  test('Idempotency-Key: a retried rotation returns the same key and mints no second one', async () => {
    const old = await node.createKey({ ownerId: 'idem' });
    const headers = { 'idempotency-key': 'rotate-42' };
    const first = await rotate(old.id, { gracePeriodSeconds: 60 }, headers);
    const second = await rotate(old.id, { gracePeriodSeconds: 60 }, headers);
    assert.equal(first.statusCode, 201);
    assert.equal(second.statusCode, 201);
    assert.equal(second.headers['idempotent-replayed'], 'true');
    assert.deepEqual(second.json(), first.json());
    const owned = (await node.request({ method: 'GET', url: '/v1/keys?ownerId=idem' })).json().data;
    assert.equal(owned.length, 2, 'the old key and exactly one new key');
    const mismatch = await rotate(old.id, { gracePeriodSeconds: 120 }, headers);
    assert.equal(mismatch.statusCode, 422);
    assert.equal(mismatch.json().code, 'IDEMPOTENCY_KEY_REUSED');
  });

  test('Idempotency-Key: concurrent retries of a create mint exactly one key', async () => {
    const headers = { 'idempotency-key': 'create-7' };
    const payload = { name: 'once', ownerId: 'concurrent-create' };
    const answers = await Promise.all(
      Array.from({ length: 5 }, () =>
        node.request({ method: 'POST', url: '/v1/keys', payload, headers }),
      ),
    );
    assert.ok(answers.every((a) => a.statusCode === 201));
    assert.equal(new Set(answers.map((a) => a.json().key)).size, 1);
    const owned = (
      await node.request({ method: 'GET', url: '/v1/keys?ownerId=concurrent-create' })
    ).json().data;
    assert.equal(owned.length, 1);
  });

  test('the stored replay is encrypted: no plaintext key in the database files', async () => {
    const { json } = await node.request({
      method: 'POST',
      url: '/v1/keys',
      payload: { name: 'sealed' },
      headers: { 'idempotency-key': 'sealed-1' },
    });
    const key = json().key as string;
    await node.kw.lastUsed.flush();
    for (const file of readdirSync(node.dataDir)) {
      assert.equal(readFileSync(join(node.dataDir, file)).includes(key), false, file);
    }
  });

  test('lineage and rotation are in the audit log', async () => {
    const old = await node.createKey();
    const fresh = (await rotate(old.id, { gracePeriodSeconds: 10 })).json();
    const [entry] = (
      await node.request({ method: 'GET', url: `/v1/audit?targetId=${old.id}&action=key.rotate` })
    ).json().data;
    assert.equal(entry.details.newKeyId, fresh.id);
    assert.equal(entry.details.gracePeriodSeconds, 10);
  });

  test('rotation policy: due keys are listed, and an enforced policy expires old keys', async () => {
    await node.request({
      method: 'POST',
      url: '/v1/projects',
      payload: {
        name: 'policy',
        prefix: 'pol',
        rotationPolicy: { prod: { maxAgeDays: 90 }, '*': { maxAgeDays: 30, enforce: true } },
      },
    });
    const prod = await node.createKey({ project: 'policy', env: 'prod' });
    const dev = await node.createKey({ project: 'policy', env: 'dev' });
    const dueIn = async (q: string) =>
      (await node.request({ method: 'GET', url: `/v1/keys?project=policy&rotationDue=${q}` }))
        .json()
        .data.map((k: { id: string }) => k.id);
    assert.deepEqual(await dueIn('now'), []);
    assert.deepEqual(await dueIn('31d'), [dev.id]);
    assert.deepEqual(await dueIn('91d'), [dev.id, prod.id]);
    assert.equal(
      (await node.request({ method: 'GET', url: '/v1/keys?rotationDue=soon' })).statusCode,
      400,
    );

    clock.advance(30 * 86_400_000);
    assert.equal((await auth(dev.key)).json().code, 'EXPIRED', 'enforced: past maxAgeDays');
    assert.equal((await auth(prod.key)).statusCode, 200, 'not enforced: only listed');
    assert.deepEqual(await dueIn('now'), [dev.id]);
  });

  test('bulk revoke: dry run lists, the real run revokes every match in one audited call', async () => {
    const owner = 'bulk-owner';
    const keys = [];
    for (let i = 0; i < 3; i++)
      keys.push(await node.createKey({ ownerId: owner, env: i === 2 ? 'prod' : 'dev' }));
    const other = await node.createKey({ ownerId: 'someone-else' });
    const dry = await node.request({
      method: 'POST',
      url: '/v1/keys/bulk/revoke',
      payload: { filter: { ownerId: owner, env: 'dev' }, dryRun: true },
    });
    assert.equal(dry.statusCode, 200);
    assert.equal(dry.json().count, 2);
    assert.equal((await auth(keys[0]!.key)).statusCode, 200, 'a dry run changes nothing');

    const real = await node.request({
      method: 'POST',
      url: '/v1/keys/bulk/revoke',
      payload: { filter: { ownerId: owner }, reason: 'laptop stolen' },
    });
    assert.equal(real.json().count, 3);
    for (const k of keys) assert.equal((await auth(k.key)).json().code, 'REVOKED');
    assert.equal((await auth(other.key)).statusCode, 200);
    const [summary] = (
      await node.request({ method: 'GET', url: '/v1/audit?action=key.bulk_revoke' })
    ).json().data;
    assert.equal(summary.details.count, 3);
    assert.equal(summary.details.reason, 'laptop stolen');
    const empty = await node.request({
      method: 'POST',
      url: '/v1/keys/bulk/revoke',
      payload: { filter: {} },
    });
    assert.equal(empty.statusCode, 400, 'a bulk action needs at least one condition');
  });

  test('bulk rotate: every match gets a new key, returned once; created-before filter', async () => {
    const owner = 'bulk-rotate';
    const a = await node.createKey({ ownerId: owner });
    clock.advance(1000);
    const cutoff = new Date(clock.now()).toISOString();
    clock.advance(1000);
    const b = await node.createKey({ ownerId: owner });
    const res = await node.request({
      method: 'POST',
      url: '/v1/keys/bulk/rotate',
      payload: { filter: { ownerId: owner, createdBefore: cutoff }, gracePeriodSeconds: 0 },
    });
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.equal(body.count, 1);
    assert.equal(body.keys[0].id, a.id);
    assert.equal(checkKeyFormat(body.created[0].key).ok, true);
    assert.equal((await auth(a.key)).json().code, 'EXPIRED');
    assert.equal((await auth(body.created[0].key)).statusCode, 200);
    assert.equal((await auth(b.key)).statusCode, 200);
  });

  test('bulk actions need keys:admin; keys:write is not enough', async () => {
    const key = await node.managementKey(['keys:write']);
    const res = await node.request({
      method: 'POST',
      url: '/v1/keys/bulk/revoke',
      payload: { filter: { ownerId: 'x' } },
      key,
    });
    assert.equal(res.statusCode, 403);
  });
});
