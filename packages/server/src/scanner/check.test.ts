import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateKey } from '@keywarden/core';
import { managementApiClient } from '../cli/commands/scan.ts';
import { startTestNode, type TestNode } from '../testing/harness.ts';
import { checkKeys, type KeyLivenessClient, revocationReason, statusForCode } from './check.ts';
import { runScan, ScanUsageError } from './scan.ts';
import { memoryIo, tempDir, writeTree } from './testing/io.ts';

describe('statusForCode', () => {
  it('maps every verify outcome', () => {
    const expected: Record<string, string> = {
      VALID: 'live',
      INSUFFICIENT_SCOPE: 'live',
      IP_NOT_ALLOWED: 'live',
      WRONG_ENV: 'live',
      RATE_LIMITED: 'live',
      QUOTA_EXCEEDED: 'live',
      BUDGET_EXCEEDED: 'live',
      DISABLED: 'disabled',
      NOT_FOUND: 'dead',
      REVOKED: 'dead',
      EXPIRED: 'dead',
      MALFORMED: 'dead',
      MISSING: 'dead',
    };
    for (const [code, status] of Object.entries(expected))
      assert.equal(statusForCode(code), status, code);
  });

  it('caps the revocation reason at the API limit, keeping the end of the location', () => {
    assert.equal(revocationReason('a.ts:3'), 'leaked: found by keywarden scan at a.ts:3');
    const long = revocationReason(`${'dir/'.repeat(200)}file.ts:9`);
    assert.equal(long.length, 500);
    assert.ok(long.endsWith('file.ts:9'));
  });
});

describe('checkKeys', () => {
  it('asks once per distinct key and leaves management keys unchecked', async () => {
    const asked: string[] = [];
    const client: KeyLivenessClient = {
      async verify(key) {
        asked.push(key);
        return { code: 'VALID', keyId: 'key_1' };
      },
      async revoke() {
        throw new Error('not here');
      },
    };
    const api = generateKey({ prefix: 'kw', env: 'prod' });
    const admin = generateKey({ prefix: 'kwadmin', env: 'mgmt' });
    const checks = await checkKeys([api, admin, api], client);
    assert.deepEqual(asked, [api]);
    assert.deepEqual(checks.get(api), { status: 'live', code: 'VALID', keyId: 'key_1' });
    assert.equal(checks.get(admin)?.status, 'unchecked');
  });
});

describe('--check and --revoke against a running server', () => {
  let node: TestNode;
  let url = '';
  let keyFile = '';
  const dirs: string[] = [];

  before(async () => {
    node = await startTestNode();
    await node.app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(node.app.server.address() as AddressInfo).port}`;
    const dir = tempDir('check');
    dirs.push(dir);
    keyFile = join(dir, 'admin-key');
    // The least the scan needs: verify:read to check, keys:write to revoke.
    writeFileSync(keyFile, await node.managementKey(['verify:read', 'keys:write']), {
      mode: 0o600,
    });
  });
  after(async () => {
    await node.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const client = () => managementApiClient({ url, keyFile });
  const verify = async (key: string, cost = 0) =>
    (await node.request({ method: 'POST', url: '/v1/verify', payload: { key, cost } })).json() as {
      code: string;
      credits?: { remaining: number };
    };

  async function plantKeys() {
    const live = await node.createKey({ name: 'live', credits: { remaining: 1 } });
    const scoped = await node.createKey({ name: 'ip', allowedIps: ['192.0.2.0/24'] });
    const disabled = await node.createKey({ name: 'disabled' });
    await node.request({ method: 'POST', url: `/v1/keys/${disabled.id}/disable` });
    const revoked = await node.createKey({ name: 'revoked' });
    await node.request({ method: 'POST', url: `/v1/keys/${revoked.id}/revoke` });
    const unknown = generateKey({ prefix: 'kw', env: 'dev' });
    const dir = tempDir('planted');
    dirs.push(dir);
    writeTree(dir, {
      'app.env': `LIVE=${live.key}\nIP=${scoped.key}\nDISABLED=${disabled.key}\n`,
      'old.txt': `${revoked.key}\n${unknown}\n${live.key}\n`,
      'admin.txt': `KEYWARDEN_ADMIN_KEY=${node.adminKey}\n`,
    });
    return { dir, live, scoped, disabled, revoked, unknown };
  }

  it('marks each key live, disabled, dead or unchecked, without spending its limits', async () => {
    const k = await plantKeys();
    const io = memoryIo(k.dir, { client });
    const result = await runScan({ check: true, format: 'json' }, io);
    assert.equal(result.exitCode, 1);
    const status = (secretKey: string) =>
      result.findings.filter((f) => f.secret === secretKey).map((f) => f.check?.status);
    assert.deepEqual(status(k.live.key), ['live', 'live']);
    assert.deepEqual(status(k.scoped.key), ['live']);
    assert.deepEqual(status(k.disabled.key), ['disabled']);
    assert.deepEqual(status(k.revoked.key), ['dead']);
    assert.deepEqual(status(k.unknown), ['dead']);
    assert.deepEqual(status(node.adminKey), ['unchecked']);
    const liveFinding = result.findings.find((f) => f.secret === k.live.key);
    assert.equal(liveFinding?.check?.keyId, k.live.id);
    assert.equal(liveFinding?.check?.code, 'VALID');
    // cost 0: the one credit is still there.
    const after = await verify(k.live.key, 1);
    assert.equal(after.code, 'VALID');
    assert.equal(after.credits?.remaining, 0);
    // The report says what the server said, never the keys.
    const report = io.out.join('');
    assert.match(report, /"status": "disabled"/);
    for (const key of [k.live.key, k.disabled.key, node.adminKey])
      assert.equal(report.includes(key), false);
  });

  it('revokes the live and disabled keys with --revoke --yes, saying where each was found', async () => {
    const k = await plantKeys();
    const io = memoryIo(k.dir, { client });
    const result = await runScan({ revoke: true, yes: true, format: 'json' }, io);
    assert.equal(result.exitCode, 1);
    for (const key of [k.live.key, k.scoped.key, k.disabled.key]) {
      assert.equal((await verify(key)).code, 'REVOKED');
      assert.ok(result.findings.filter((f) => f.secret === key).every((f) => f.revoked === true));
    }
    const audit = (
      await node.request({
        method: 'GET',
        url: `/v1/audit?targetId=${k.live.id}&action=key.revoke`,
      })
    ).json() as {
      data: Array<{ metadata?: Record<string, unknown>; meta?: Record<string, unknown> }>;
    };
    assert.equal(audit.data.length, 1);
    assert.match(JSON.stringify(audit.data[0]), /leaked: found by keywarden scan at app\.env:1/);
    assert.match(io.err.join(''), new RegExp(`revoked ${k.live.id}`));
  });

  it('asks before revoking, and revokes nothing on no', async () => {
    const k = await plantKeys();
    const questions: string[] = [];
    const no = memoryIo(k.dir, {
      client,
      confirm: async (question) => {
        questions.push(question);
        return false;
      },
    });
    await runScan({ revoke: true }, no);
    assert.equal(questions.length, 1);
    assert.match(questions[0]!, /Revoke 3 live key\(s\)\?/);
    assert.equal(questions[0]!.includes(k.live.key), false);
    assert.equal((await verify(k.live.key)).code, 'VALID');

    const yes = memoryIo(k.dir, { client, confirm: async () => true });
    await runScan({ revoke: true }, yes);
    assert.equal((await verify(k.live.key)).code, 'REVOKED');
  });

  it('refuses to revoke without a terminal or --yes, before scanning', async () => {
    const k = await plantKeys();
    await assert.rejects(
      runScan({ revoke: true }, memoryIo(k.dir, { client })),
      (error: Error) => error instanceof ScanUsageError && /--yes/.test(error.message),
    );
    assert.equal((await verify(k.live.key)).code, 'VALID');
  });

  it('reports keys unchecked when the server cannot be reached', async () => {
    const k = await plantKeys();
    const io = memoryIo(k.dir, {
      client: () => managementApiClient({ url: 'http://127.0.0.1:1', keyFile }),
    });
    const result = await runScan({ check: true }, io);
    assert.equal(result.exitCode, 1);
    assert.ok(
      result.findings
        .filter((f) => f.kind === 'keywarden')
        .every((f) => f.check?.status === 'unchecked'),
    );
    assert.match(io.err.join(''), /cannot reach keywarden/);
  });
});
