import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { decryptSecret, encryptSecret } from './encryption.ts';

test('AES-256-GCM round trip; fresh IV each time; context and key are bound', () => {
  const key = randomBytes(32);
  const a = encryptSecret(key, 'sk-secret', 'upstream:openai');
  const b = encryptSecret(key, 'sk-secret', 'upstream:openai');
  assert.notEqual(a, b);
  assert.ok(!a.includes('sk-secret'));
  assert.equal(decryptSecret(key, a, 'upstream:openai'), 'sk-secret');
  assert.throws(() => decryptSecret(key, a, 'upstream:other'));
  assert.throws(() => decryptSecret(randomBytes(32), a, 'upstream:openai'));
  const tampered = Buffer.from(a, 'base64url');
  tampered[tampered.length - 1]! ^= 1;
  assert.throws(() => decryptSecret(key, tampered.toString('base64url'), 'upstream:openai'));
});
