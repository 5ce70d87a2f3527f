import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { KeyHasher } from './key-hasher.ts';
import { loadSecrets } from './secrets.ts';

const b64 = () => randomBytes(32).toString('base64');

test('embedded mode generates secrets once, mode 0600, and reads the same ones back', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'kw-secrets-'));
  const first = loadSecrets({ env: {}, dataDir });
  const file = join(dataDir, 'secrets.json');
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const second = loadSecrets({ env: {}, dataDir });
  assert.deepEqual(second.peppers.get(1), first.peppers.get(1));
  assert.deepEqual(second.masterKey, first.masterKey);
  assert.ok(JSON.parse(readFileSync(file, 'utf8')).peppers);
});

test('cluster mode refuses to start without shared secrets', () => {
  assert.throws(() => loadSecrets({ env: {} }), /KEYWARDEN_PEPPER/);
  assert.throws(() => loadSecrets({ env: { KEYWARDEN_PEPPER: b64() } }), /set together/);
  assert.throws(
    () => loadSecrets({ env: { KEYWARDEN_PEPPER: 'c2hvcnQ=', KEYWARDEN_MASTER_KEY: b64() } }),
    /32 random bytes/,
  );
  const ok = loadSecrets({
    env: { KEYWARDEN_PEPPER: `2:${b64()},1:${b64()}`, KEYWARDEN_MASTER_KEY: b64() },
  });
  assert.equal(ok.currentPepperVersion, 2);
});

test('the keyed hash depends on the pepper, and older peppers are tried newest first', () => {
  const p1 = randomBytes(32);
  const p2 = randomBytes(32);
  const old = new KeyHasher({ peppers: new Map([[1, p1]]), currentPepperVersion: 1 });
  const rotated = new KeyHasher({
    peppers: new Map([
      [1, p1],
      [2, p2],
    ]),
    currentPepperVersion: 2,
  });
  const key = 'kw_dev_example';
  assert.notEqual(old.hash(key).hash, rotated.hash(key).hash);
  assert.deepEqual(rotated.olderHashes(key), [old.hash(key)]);
  assert.equal(rotated.hash(key).pepperVersion, 2);
  assert.equal(KeyHasher.equal(old.hash(key).hash, old.hash(key).hash), true);
  assert.equal(KeyHasher.equal(old.hash(key).hash, rotated.hash(key).hash), false);
});
