import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { startTestNode } from '../testing/harness.ts';

/**
 * After real use (create, verify through every entry point, rotate state, fail, log), no
 * plaintext key may appear anywhere at rest: the SQLite database, its WAL, or the logs.
 */
test('no plaintext key reaches the store files or the logs', async () => {
  const node = await startTestNode();
  const plaintexts: string[] = [node.adminKey];
  try {
    for (let i = 0; i < 5; i++) {
      const { id, key } = await node.createKey({
        name: `secret ${i}`,
        scopes: ['read'],
        meta: { note: `copy of ${key0(plaintexts)}` },
      });
      plaintexts.push(key);
      await node.app.inject({ url: '/v1/auth', headers: { authorization: `Bearer ${key}` } });
      await node.app.inject({ url: `/v1/auth?api_key=${key}` });
      await node.request({
        method: 'POST',
        url: '/v1/verify',
        payload: { key, scopes: ['admin'] },
      });
      if (i % 2 === 0) await node.request({ method: 'POST', url: `/v1/keys/${id}/revoke` });
      await node.request({ method: 'POST', url: '/v1/keys', payload: { name: key } });
      await node.request({
        method: 'POST',
        url: '/v1/keys',
        payload: `{"name":"${key}"`,
        headers: { 'content-type': 'application/json' },
      });
      await node.request({ method: 'GET', url: `/v1/keys?ownerId=${key}` });
      await node.request({ method: 'GET', url: '/v1/keys', key: `${key.slice(0, -1)}x` });
      node.kw.verifier.verify({ key }).catch(() => {});
    }
    await node.kw.lastUsed.flush();
    const files = readdirSync(node.dataDir).map((f) => join(node.dataDir, f));
    assert.ok(files.some((f) => f.endsWith('keywarden.db')));
    const logs = node.logs.join('');
    assert.ok(logs.length > 1000, 'the run produced logs to search');
    for (const key of plaintexts) {
      for (const file of files)
        assert.equal(
          readFileSync(file).includes(key),
          false,
          `${key.slice(0, 12)}… found in ${file}`,
        );
      assert.equal(logs.includes(key), false, `${key.slice(0, 12)}… found in the logs`);
      assert.equal(logs.includes(key.slice(-30)), false, 'no long fragment of a key in the logs');
    }
    const secrets = statSync(join(node.dataDir, 'secrets.json'));
    assert.equal(secrets.mode & 0o777, 0o600);
  } finally {
    await node.close();
  }
});

function key0(keys: string[]): string {
  return keys[0] ?? '';
}
