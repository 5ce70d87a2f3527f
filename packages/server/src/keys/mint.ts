import { displayKey, generateKey } from '@keywarden/core';
import type { KeyHasher } from '../secrets/index.ts';

/** A fresh key: the plaintext (for the one response that shows it) and what is stored. */
export interface MintedKey {
  plaintext: string;
  hash: string;
  pepperVersion: number;
  display: string;
}

export function mintKey(hasher: KeyHasher, prefix: string, env: string): MintedKey {
  const plaintext = generateKey({ prefix, env });
  const { hash, pepperVersion } = hasher.hash(plaintext);
  return { plaintext, hash, pepperVersion, display: displayKey(plaintext) };
}

/** Runs inside the transaction that makes the change: an idempotency record commits with it. */
export type InTransaction<T> = (
  tx: import('../store/index.ts').Repositories,
  result: T,
) => Promise<void>;
