import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateKey } from '@keywarden/core';
import { startTestNode, type TestNode } from '../../testing/harness.ts';

/** GitHub secret scanning alerts, signed with an ECDSA P-256 key made here, as GitHub signs them. */
describe('POST /v1/leaks/github', () => {
  let node: TestNode;
  let privateKey: KeyObject;
  const KEY_ID = 'bcb53661c06b4728e59d897fb6165d5c9cda0fd9cdf9d09ead458168deb7518c';

  before(async () => {
    const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    privateKey = pair.privateKey;
    const file = join(mkdtempSync(join(tmpdir(), 'kw-gh-')), 'github-keys.json');
    const pem = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    writeFileSync(
      file,
      JSON.stringify({ public_keys: [{ key_identifier: KEY_ID, key: pem, is_current: true }] }),
    );
    node = await startTestNode({
      env: { KEYWARDEN_GITHUB_KEYS_FILE: file, KEYWARDEN_GITHUB_KEYS_URL: 'off' },
    });
  });
  after(() => node.close());

  const post = (body: string, headers: Record<string, string>) =>
    node.app.inject({
      method: 'POST',
      url: '/v1/leaks/github',
      payload: body,
      headers: { 'content-type': 'application/json', ...headers },
    });
  const signed = (body: string, with_ = privateKey) => ({
    'github-public-key-identifier': KEY_ID,
    'github-public-key-signature': sign('sha256', Buffer.from(body), with_).toString('base64'),
  });
  const auth = (key: string) => node.app.inject({ url: '/v1/auth', headers: { 'x-api-key': key } });
  const sha256 = (t: string) => createHash('sha256').update(t).digest('hex');

  test('a signed alert revokes the leaked key, labels each token, records and audits the leak', async () => {
    const { id, key } = await node.createKey();
    const foreign = generateKey({ prefix: 'kw', env: 'prod' });
    const body = JSON.stringify([
      {
        token: key,
        type: 'keywarden_api_key',
        url: 'https://github.com/o/r/blob/abc/.env',
        source: 'content',
      },
      {
        token: foreign,
        type: 'keywarden_api_key',
        url: 'https://github.com/o/r/blob/abc/b.js',
        source: 'content',
      },
      {
        token: 'not-even-a-key',
        type: 'keywarden_api_key',
        url: 'https://gist.github.com/x',
        source: 'gist',
      },
    ]);
    const res = await post(body, signed(body));
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), [
      { token_hash: sha256(key), token_type: 'keywarden_api_key', label: 'true_positive' },
      { token_hash: sha256(foreign), token_type: 'keywarden_api_key', label: 'false_positive' },
      {
        token_hash: sha256('not-even-a-key'),
        token_type: 'keywarden_api_key',
        label: 'false_positive',
      },
    ]);
    assert.ok(!res.body.includes(key), 'the answer never echoes a token');
    assert.equal((await auth(key)).json().code, 'REVOKED');
    const leaks = await node.kw.store.leaks.listForKey(id);
    assert.equal(leaks.length, 1);
    assert.equal(leaks[0]!.url, 'https://github.com/o/r/blob/abc/.env');
    assert.equal(leaks[0]!.action, 'revoked');
    const [entry] = (
      await node.request({ method: 'GET', url: `/v1/audit?targetId=${id}&action=key.revoke` })
    ).json().data;
    assert.equal(entry.actorId, 'github-secret-scanning');
    assert.equal(entry.details.url, 'https://github.com/o/r/blob/abc/.env');
    assert.match(node.logs.join(''), /"alert":"key_leaked"/);
  });

  test('a wrong signature, an unknown key id or no signature: 401 and nothing revoked', async () => {
    const { key } = await node.createKey();
    const body = JSON.stringify([{ token: key, type: 't', url: 'u', source: 's' }]);
    const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    const attempts = [
      signed(body, other),
      { ...signed(body), 'github-public-key-identifier': 'unknown' },
      {},
      { ...signed(body), 'github-public-key-signature': 'AAAA' },
      signed(`${body} `),
    ];
    for (const headers of attempts) {
      const res = await post(body, headers);
      assert.equal(res.statusCode, 401);
      assert.equal(res.json().code, 'INVALID_SIGNATURE');
    }
    assert.equal((await auth(key)).statusCode, 200);
  });

  test('a replayed alert changes nothing more: one leak record, one audit entry', async () => {
    const { id, key } = await node.createKey();
    const body = JSON.stringify([
      { token: key, type: 'keywarden_api_key', url: 'https://github.com/o/r/x', source: 'commit' },
    ]);
    await post(body, signed(body));
    const again = await post(body, signed(body));
    assert.equal(again.statusCode, 200);
    assert.equal(again.json()[0].label, 'true_positive');
    assert.equal((await node.kw.store.leaks.listForKey(id)).length, 1);
    const entries = (await node.request({ method: 'GET', url: `/v1/audit?targetId=${id}` })).json()
      .data;
    assert.equal(entries.filter((e: { action: string }) => e.action === 'key.revoke').length, 1);
  });

  test('a project that opts out of revocation gets the leak recorded, not revoked', async () => {
    await node.request({
      method: 'POST',
      url: '/v1/projects',
      payload: { name: 'keep', prefix: 'keep', revokeOnLeak: false },
    });
    const { id, key } = await node.createKey({ project: 'keep' });
    const body = JSON.stringify([
      { token: key, type: 't', url: 'https://github.com/k', source: 'content' },
    ]);
    assert.equal((await post(body, signed(body))).json()[0].label, 'true_positive');
    assert.equal((await auth(key)).statusCode, 200);
    assert.equal((await node.kw.store.leaks.listForKey(id))[0]!.action, 'reported');
  });

  test('a key quoted in the url, type or source of a report is stored redacted', async () => {
    const { id, key } = await node.createKey();
    const body = JSON.stringify([
      {
        token: key,
        type: `kw ${key}`,
        url: `https://github.com/o/r/blob/abc/.env?token=${key}#${key}`,
        source: `content ${key}`,
      },
    ]);
    assert.equal((await post(body, signed(body))).statusCode, 200);
    const [leak] = await node.kw.store.leaks.listForKey(id);
    assert.ok(leak);
    assert.ok(!JSON.stringify(leak).includes(key), JSON.stringify(leak));
    assert.match(leak.url, /^https:\/\/github\.com\/o\/r\/blob\/abc\/\.env\?token=/);
  });

  test('a signed body that is not a list of reports is a 400', async () => {
    for (const body of ['{"token":"x"}', '[{"token":5}]', 'not json']) {
      const res = await post(body, signed(body));
      assert.equal(res.statusCode, 400, body);
    }
  });
});
