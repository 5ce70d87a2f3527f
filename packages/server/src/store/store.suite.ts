import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { newId } from '../ids/index.ts';
import { GENESIS_HASH, verifyAuditPage } from './audit-chain.ts';
import { isUniqueViolation } from './errors.ts';
import { keyRecord } from './testing/records.ts';
import type {
  AuditEntry,
  AuditEntryInput,
  KeyRecord,
  ProjectRecord,
  Store,
  UpstreamRecord,
} from './types.ts';

/**
 * The contract every store backend must pass, unchanged. A backend's test file calls
 * `defineStoreSuite` with a function that opens a fresh, empty, migrated store.
 */
export function defineStoreSuite(backend: string, openStore: () => Promise<Store>): void {
  describe(`store contract: ${backend}`, () => {
    let store: Store;
    let project: ProjectRecord;

    before(async () => {
      store = await openStore();
      const now = Date.now();
      project = {
        id: newId('prj', now),
        name: `suite-${now}-${Math.random().toString(36).slice(2, 8)}`,
        prefix: `s${Math.random()
          .toString(36)
          .slice(2, 9)
          .replace(/[^a-z0-9]/g, 'a')}`,
        environments: ['dev', 'prod'],
        allowQueryKey: false,
        ratelimitDefaults: {},
        rotationPolicy: {},
        revokeOnLeak: true,
        createdAt: now,
        updatedAt: now,
      };
      await store.projects.insert(project);
    });
    after(async () => {
      await store.close();
    });

    const makeKey = (overrides: Partial<KeyRecord> = {}): KeyRecord =>
      keyRecord({ projectId: project.id, ...overrides });
    /** A key as read back, without the revision the store sets (compared on its own). */
    const readKey = async (found: Promise<KeyRecord | null>) => {
      const key = await found;
      if (!key) return key;
      const { revision: _revision, ...rest } = key;
      return rest;
    };

    const audit = (overrides: Partial<AuditEntryInput> = {}): AuditEntryInput => ({
      at: Date.now(),
      actorId: 'cli',
      actorDisplay: 'cli',
      action: 'key.create',
      targetType: 'key',
      targetId: null,
      ip: '127.0.0.1',
      result: 'success',
      requestId: null,
      details: { n: 1 },
      ...overrides,
    });

    test('migrations seed the default and management projects', async () => {
      const byName = await store.projects.findByName('default');
      assert.equal(byName?.prefix, 'kw');
      assert.deepEqual(byName?.environments, ['dev', 'staging', 'prod']);
      const management = await store.projects.findByPrefix('kwadmin');
      assert.equal(management?.name, '_management');
    });

    test('projects: insert, find by id, name and prefix, update, unique names', async () => {
      assert.deepEqual(await store.projects.findById(project.id), project);
      assert.deepEqual(await store.projects.findByPrefix(project.prefix), project);
      const updated = await store.projects.update(project.id, {
        environments: ['dev', 'prod', 'qa'],
        allowQueryKey: true,
        updatedAt: project.updatedAt + 1,
      });
      assert.deepEqual(updated?.environments, ['dev', 'prod', 'qa']);
      assert.equal(updated?.allowQueryKey, true);
      await assert.rejects(store.projects.insert({ ...project, id: newId('prj') }));
      assert.equal(await store.projects.update(newId('prj'), { name: 'x' }), null);
      project = updated!;
    });

    test('keys: insert and read back every field unchanged', async () => {
      const key = makeKey({
        ownerId: 'user_1',
        meta: { team: 'billing', nested: { a: [1, 2] } },
        expiresAt: Date.now() + 60_000,
        allowedIps: ['10.0.0.0/8', '2001:db8::/32'],
        scopes: ['keys:read', 'billing:write'],
      });
      await store.keys.insert(key);
      assert.deepEqual(await readKey(store.keys.findById(key.id)), key);
      assert.deepEqual(await readKey(store.keys.findByHash(key.hash)), key);
      assert.equal(await store.keys.findByHash('ff'.repeat(32)), null);
    });

    test('keys: rate limits and credits round-trip; credits write-back touches only keys with credits', async () => {
      const key = makeKey({
        ratelimits: [{ name: 'requests', limit: 100, windowSeconds: 60 }],
        credits: {
          remaining: 50,
          refill: { amount: 50, intervalSeconds: 86_400, mode: 'reset' },
          refilledAt: 1000,
        },
      });
      const plain = makeKey({ ratelimits: [] });
      await store.keys.insert(key);
      await store.keys.insert(plain);
      assert.deepEqual(await readKey(store.keys.findById(key.id)), key);
      assert.deepEqual((await store.keys.findById(plain.id))?.ratelimits, []);
      await store.keys.writeBackCredits([
        { id: key.id, remaining: 7, refilledAt: 2000 },
        { id: plain.id, remaining: 7, refilledAt: 2000 },
      ]);
      assert.deepEqual((await store.keys.findById(key.id))?.credits, {
        ...key.credits!,
        remaining: 7,
        refilledAt: 2000,
      });
      assert.equal((await store.keys.findById(plain.id))?.credits, null);
      const cleared = await store.keys.update(key.id, { credits: null, ratelimits: null });
      assert.equal(cleared?.credits, null);
      assert.equal(cleared?.ratelimits, null);
    });

    test('owners: upsert replaces, list pages by id, write-back, delete', async () => {
      const id = `owner-${Math.random().toString(36).slice(2)}`;
      const owner = {
        id,
        ratelimits: [{ name: 'requests', limit: 10, windowSeconds: 1 }],
        credits: { remaining: 5, refill: null, refilledAt: 0 },
        budgets: null,
        createdAt: 1,
        updatedAt: 1,
      };
      await store.owners.upsert(owner);
      assert.deepEqual(await store.owners.findById(id), owner);
      await store.owners.upsert({ ...owner, ratelimits: null, createdAt: 99, updatedAt: 2 });
      const replaced = await store.owners.findById(id);
      assert.equal(replaced?.ratelimits, null);
      assert.equal(replaced?.createdAt, 1, 'an upsert keeps the creation time');
      await store.owners.writeBackCredits([{ id, remaining: 2, refilledAt: 5 }]);
      assert.equal((await store.owners.findById(id))?.credits?.remaining, 2);
      assert.ok((await store.owners.list(100)).some((o) => o.id === id));
      assert.equal(await store.owners.delete(id), true);
      assert.equal(await store.owners.findById(id), null);
    });

    test('keys: models, budgets and token-unit rate limits round-trip; null clears', async () => {
      const key = makeKey({
        models: ['gpt-4o-mini', 'gpt-4o*', 'openai/*'],
        budgets: [
          { name: 'monthly', amountMicros: 25_000_000, period: 'month' },
          { name: 'daily', amountMicros: 1_500_000, period: 'day' },
        ],
        ratelimits: [
          { name: 'rpm', limit: 60, windowSeconds: 60 },
          { name: 'tpm', limit: 100_000, windowSeconds: 60, unit: 'tokens' },
        ],
      });
      await store.keys.insert(key);
      assert.deepEqual(await readKey(store.keys.findById(key.id)), key);
      const plain = makeKey();
      await store.keys.insert(plain);
      const read = await store.keys.findById(plain.id);
      assert.equal(read?.models, null);
      assert.equal(read?.budgets, null);

      const changed = await store.keys.update(key.id, { models: ['o3'], budgets: [] });
      assert.deepEqual(changed?.models, ['o3']);
      assert.deepEqual(changed?.budgets, [], '[] stays [], distinct from null');
      assert.deepEqual(changed?.ratelimits, key.ratelimits, 'fields not named are kept');
      const cleared = await store.keys.update(key.id, { models: null, budgets: null });
      assert.equal(cleared?.models, null);
      assert.equal(cleared?.budgets, null);
    });

    test('owners: budgets and token-unit rate limits round-trip', async () => {
      const id = `owner-budget-${Math.random().toString(36).slice(2)}`;
      const owner = {
        id,
        ratelimits: [{ name: 'tpm', limit: 1_000_000, windowSeconds: 60, unit: 'tokens' as const }],
        credits: null,
        budgets: [{ name: 'total', amountMicros: 1, period: 'total' as const }],
        createdAt: 3,
        updatedAt: 3,
      };
      await store.owners.upsert(owner);
      assert.deepEqual(await store.owners.findById(id), owner);
      await store.owners.upsert({ ...owner, budgets: null, updatedAt: 4 });
      assert.equal((await store.owners.findById(id))?.budgets, null);
      assert.equal(await store.owners.delete(id), true);
    });

    const makeUpstream = (overrides: Partial<UpstreamRecord> = {}): UpstreamRecord => {
      const now = Date.now();
      return {
        id: newId('ups', now),
        name: `up-${now}-${Math.random().toString(36).slice(2, 8)}`,
        type: 'openai',
        baseUrl: 'https://api.example.test/v1',
        secretSealed: null,
        secretHint: null,
        authHeader: 'authorization',
        authScheme: 'Bearer',
        environments: null,
        timeouts: { connectMs: 5_000, headersMs: 300_000, bodyMs: 300_000 },
        routes: [],
        prices: {},
        createdAt: now,
        updatedAt: now,
        ...overrides,
      };
    };

    test('upstreams: insert, find by id and name, list by name, every field round-trips', async () => {
      const full = makeUpstream({
        name: `zz-full-${Math.random().toString(36).slice(2, 8)}`,
        type: 'http',
        secretSealed: 'c2VhbGVk',
        secretHint: '…wxyz',
        authHeader: 'x-api-key',
        authScheme: null,
        environments: ['prod', 'staging'],
        timeouts: { connectMs: 1, headersMs: 2, bodyMs: 3_600_000 },
        routes: [
          { method: 'POST', path: '/v1/things/**', scope: 'things:write' },
          { method: '*', path: '/v1/*/status', scope: 'things:read' },
        ],
        prices: {
          'gpt-4o': { inputMicrosPerMTok: 2_500_000, outputMicrosPerMTok: 10_000_000 },
          'free-model': { inputMicrosPerMTok: 0, outputMicrosPerMTok: 0 },
        },
      });
      const minimal = makeUpstream({ name: `aa-min-${Math.random().toString(36).slice(2, 8)}` });
      await store.upstreams.insert(full);
      await store.upstreams.insert(minimal);
      assert.deepEqual(await store.upstreams.findById(full.id), full);
      assert.deepEqual(await store.upstreams.findByName(full.name), full);
      assert.deepEqual(await store.upstreams.findByName(minimal.name), minimal);
      assert.equal(await store.upstreams.findById(newId('ups')), null);
      assert.equal(await store.upstreams.findByName('no-such-upstream'), null);
      const names = (await store.upstreams.list()).map((u) => u.name);
      assert.ok(names.includes(full.name) && names.includes(minimal.name));
      assert.deepEqual(names, [...names].sort(), 'listed by name');
    });

    test('upstreams: update applies only the given fields, null clears, rename, delete', async () => {
      const upstream = makeUpstream({
        secretSealed: 'c2VhbGVk',
        secretHint: '…abcd',
        environments: ['prod'],
      });
      await store.upstreams.insert(upstream);
      const renamed = `${upstream.name}-renamed`;
      const updated = await store.upstreams.update(upstream.id, {
        name: renamed,
        baseUrl: 'http://127.0.0.1:9999',
        secretSealed: null,
        secretHint: null,
        environments: null,
        routes: [{ method: 'GET', path: '/**', scope: 'read' }],
        updatedAt: upstream.updatedAt + 1,
      });
      assert.deepEqual(updated, {
        ...upstream,
        name: renamed,
        baseUrl: 'http://127.0.0.1:9999',
        secretSealed: null,
        secretHint: null,
        environments: null,
        routes: [{ method: 'GET', path: '/**', scope: 'read' }],
        updatedAt: upstream.updatedAt + 1,
      });
      assert.equal(await store.upstreams.findByName(upstream.name), null, 'the old name is free');
      assert.equal((await store.upstreams.findByName(renamed))?.id, upstream.id);
      assert.equal(await store.upstreams.update(newId('ups'), { name: 'x' }), null);
      assert.equal(await store.upstreams.delete(upstream.id), true);
      assert.equal(await store.upstreams.delete(upstream.id), false);
      assert.equal(await store.upstreams.findById(upstream.id), null);
    });

    test('upstreams: names are unique, on insert and on rename (a unique violation)', async () => {
      const a = makeUpstream();
      const b = makeUpstream({ name: `${a.name}-b` });
      await store.upstreams.insert(a);
      await store.upstreams.insert(b);
      await assert.rejects(store.upstreams.insert(makeUpstream({ name: a.name })), (error) =>
        isUniqueViolation(error),
      );
      await assert.rejects(store.upstreams.update(b.id, { name: a.name }), (error) =>
        isUniqueViolation(error),
      );
      assert.equal((await store.upstreams.findById(b.id))?.name, b.name);
    });

    test('projects: rate-limit defaults per environment round-trip', async () => {
      const defaults = { '*': [{ name: 'requests', limit: 60, windowSeconds: 60 }], prod: [] };
      const updated = await store.projects.update(project.id, { ratelimitDefaults: defaults });
      assert.deepEqual(updated?.ratelimitDefaults, defaults);
      project = updated!;
    });

    test('idempotency: find what was inserted, one record per scope and key, purge by age', async () => {
      const record = {
        scope: 's1',
        idempotencyKey: 'k1',
        requestHash: 'h',
        status: 201,
        response: 'sealed',
        createdAt: 1000,
      };
      await store.idempotency.insert(record);
      assert.deepEqual(await store.idempotency.find('s1', 'k1'), record);
      assert.equal(await store.idempotency.find('s2', 'k1'), null);
      await assert.rejects(store.idempotency.insert({ ...record, response: 'other' }));
      await store.idempotency.insert({ ...record, idempotencyKey: 'k2', createdAt: 5000 });
      assert.equal(await store.idempotency.deleteBefore(2000), 1);
      assert.equal(await store.idempotency.find('s1', 'k1'), null);
      assert.ok(await store.idempotency.find('s1', 'k2'));
      await store.idempotency.delete('s1', 'k2');
      assert.equal(await store.idempotency.find('s1', 'k2'), null);
    });

    test('leaks: a replayed report is recognised, and leaks are listed per key', async () => {
      const keyId = newId('key');
      const leak = {
        id: newId('key'),
        reporter: 'github' as const,
        tokenHash: 'ab'.repeat(32),
        tokenType: 'keywarden_api_key',
        url: 'https://github.com/o/r/blob/x/a.env',
        source: 'content',
        keyId,
        action: 'revoked' as const,
        reportedAt: 42,
      };
      assert.equal(await store.leaks.insertIfNew(leak), true);
      assert.equal(await store.leaks.insertIfNew({ ...leak, id: newId('key') }), false);
      assert.equal(
        await store.leaks.insertIfNew({ ...leak, id: newId('key'), url: `${leak.url}#2` }),
        true,
      );
      assert.equal((await store.leaks.listForKey(keyId)).length, 2);
      assert.deepEqual(
        (await store.leaks.listForKey(keyId)).find((l) => l.id === leak.id),
        leak,
      );
    });

    test('keys: every insert and change takes the next store-wide revision; reads carry it', async () => {
      const first = makeKey();
      const second = makeKey();
      await store.keys.insert(first);
      await store.keys.insert(second);
      const r1 = (await store.keys.findById(first.id))!.revision!;
      const r2 = (await store.keys.findById(second.id))!.revision!;
      assert.ok(Number.isSafeInteger(r1) && r1 > 0, `a positive integer: ${r1}`);
      assert.ok(r2 > r1, 'later changes, higher revisions, across keys');
      const revoked = await store.keys.update(first.id, { status: 'revoked', revokedAt: 1 });
      assert.ok(revoked!.revision! > r2, 'an update takes a new revision');
      assert.equal((await store.keys.findByHash(first.hash))!.revision, revoked!.revision);
      // Bookkeeping is not a change a cache must hear of: it keeps the revision.
      await store.keys.touch([{ keyId: first.id, at: Date.now(), ip: null }]);
      await store.keys.writeBackCredits([{ id: first.id, remaining: 1, refilledAt: 1 }]);
      assert.equal((await store.keys.findById(first.id))!.revision, revoked!.revision);
      // In a transaction too, and one committed after another is numbered after it.
      const inTx = await store.transaction((tx) => tx.keys.update(second.id, { name: 'b' }));
      assert.ok(inTx!.revision! > revoked!.revision!);
    });

    test('keys: the hash is unique', async () => {
      const key = makeKey();
      await store.keys.insert(key);
      await assert.rejects(store.keys.insert(makeKey({ hash: key.hash })));
    });

    test('keys: update applies only the given fields, and null clears', async () => {
      const key = makeKey({ expiresAt: Date.now() + 1000, ownerId: 'o' });
      await store.keys.insert(key);
      const updated = await store.keys.update(key.id, {
        name: 'renamed',
        expiresAt: null,
        status: 'disabled',
        updatedAt: key.updatedAt + 5,
      });
      assert.equal(updated?.name, 'renamed');
      assert.equal(updated?.expiresAt, null);
      assert.equal(updated?.status, 'disabled');
      assert.equal(updated?.ownerId, 'o');
      assert.deepEqual(updated?.scopes, key.scopes);
      assert.equal(await store.keys.update(newId('key'), { name: 'x' }), null);
    });

    test('keys: list filters and paginates newest first', async () => {
      const owner = `owner-${Math.random()}`;
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const key = makeKey({ ownerId: owner, env: i % 2 === 0 ? 'dev' : 'prod' });
        ids.push(key.id);
        await store.keys.insert(key);
        await new Promise((r) => setTimeout(r, 2));
      }
      const page1 = await store.keys.list({ ownerId: owner, limit: 2 });
      assert.deepEqual(
        page1.map((k) => k.id),
        [ids[4], ids[3]],
      );
      const page2 = await store.keys.list({ ownerId: owner, limit: 2, beforeId: page1[1]!.id });
      assert.deepEqual(
        page2.map((k) => k.id),
        [ids[2], ids[1]],
      );
      const prod = await store.keys.list({ ownerId: owner, env: 'prod', limit: 10 });
      assert.equal(prod.length, 2);
      assert.ok(prod.every((k) => k.env === 'prod'));
      assert.equal(
        (await store.keys.list({ ownerId: owner, status: 'revoked', limit: 10 })).length,
        0,
      );
    });

    test('keys: touch only moves last-used forward', async () => {
      const key = makeKey();
      await store.keys.insert(key);
      await store.keys.touch([{ keyId: key.id, at: 2000, ip: '192.0.2.1' }]);
      await store.keys.touch([{ keyId: key.id, at: 1000, ip: '192.0.2.9' }]);
      const read = await store.keys.findById(key.id);
      assert.equal(read?.lastUsedAt, 2000);
      assert.equal(read?.lastUsedIp, '192.0.2.1');
    });

    test('keys: delete, and counting keys per project', async () => {
      const before = await store.projects.countKeys(project.id);
      const key = makeKey();
      await store.keys.insert(key);
      assert.equal(await store.projects.countKeys(project.id), before + 1);
      assert.equal(await store.keys.delete(key.id), true);
      assert.equal(await store.keys.delete(key.id), false);
      assert.equal(await store.keys.findById(key.id), null);
    });

    test('transaction: a failure rolls back the change and its audit entry together', async () => {
      const key = makeKey();
      const auditBefore = await store.audit.list({ targetId: key.id, limit: 10 });
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.keys.insert(key);
          await tx.audit.append(audit({ targetId: key.id }));
          throw new Error('boom');
        }),
        /boom/,
      );
      assert.equal(await store.keys.findById(key.id), null);
      assert.deepEqual(await store.audit.list({ targetId: key.id, limit: 10 }), auditBefore);
      await store.transaction(async (tx) => {
        await tx.keys.insert(key);
        await tx.audit.append(audit({ targetId: key.id }));
      });
      assert.ok(await store.keys.findById(key.id));
      assert.equal((await store.audit.list({ targetId: key.id, limit: 10 })).length, 1);
    });

    test('audit: a hash chain that verifies, filters, and detects tampering', async () => {
      const target = newId('key');
      const appended: AuditEntry[] = [];
      for (let i = 0; i < 3; i++) {
        appended.push(await store.audit.append(audit({ targetId: target, details: { i } })));
      }
      assert.equal(appended[1]!.prevHash, appended[0]!.hash);
      assert.equal(appended[1]!.seq, appended[0]!.seq + 1);
      const listed = await store.audit.list({ targetId: target, limit: 10 });
      assert.deepEqual(
        listed.map((e) => e.details),
        [{ i: 2 }, { i: 1 }, { i: 0 }],
      );
      const all = await store.audit.scan(0, 10_000);
      const { breaks } = verifyAuditPage(all, { seq: 0, hash: GENESIS_HASH });
      assert.deepEqual(breaks, []);
      const tampered = all.map((e) => (e.seq === appended[1]!.seq ? { ...e, action: 'x' } : e));
      const result = verifyAuditPage(tampered, { seq: 0, hash: GENESIS_HASH });
      assert.deepEqual(result.breaks, [{ seq: appended[1]!.seq, reason: 'hash_mismatch' }]);
    });

    test('audit: concurrent appends keep one unbroken chain', async () => {
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => store.audit.append(audit({ details: { i } }))),
      );
      const all = await store.audit.scan(0, 10_000);
      assert.deepEqual(verifyAuditPage(all, { seq: 0, hash: GENESIS_HASH }).breaks, []);
    });

    test('ping answers', async () => {
      await store.ping();
    });
  });
}
