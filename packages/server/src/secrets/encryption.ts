import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * AES-256-GCM under the master key (kept outside the database), for the few secrets keywarden
 * must be able to read back: upstream provider keys, and idempotent replays of a response
 * that carried a new key. `context` is bound as additional authenticated data, so a
 * ciphertext moved to another row or purpose fails to decrypt.
 * Format: base64url(version 1 ‖ 12-byte IV ‖ 16-byte tag ‖ ciphertext).
 */
const VERSION = 1;

export function encryptSecret(masterKey: Buffer, plaintext: string, context: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', masterKey, iv);
  cipher.setAAD(Buffer.from(context));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), body]).toString(
    'base64url',
  );
}

export function decryptSecret(masterKey: Buffer, sealed: string, context: string): string {
  const bytes = Buffer.from(sealed, 'base64url');
  if (bytes.length < 29 || bytes[0] !== VERSION) throw new Error('not a keywarden ciphertext');
  const decipher = createDecipheriv('aes-256-gcm', masterKey, bytes.subarray(1, 13));
  decipher.setAAD(Buffer.from(context));
  decipher.setAuthTag(bytes.subarray(13, 29));
  return Buffer.concat([decipher.update(bytes.subarray(29)), decipher.final()]).toString('utf8');
}
