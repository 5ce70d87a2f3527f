import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ServerSecrets } from './secrets.ts';

export interface KeyHash {
  pepperVersion: number;
  /** HMAC-SHA256(pepper, key) in hex: the only form of a key that is ever stored. */
  hash: string;
}

/**
 * Keyed hashing of API keys. Keys carry ~178 bits of entropy, so a fast keyed hash is
 * the right tool (a slow password hash would only slow verification down); the pepper
 * makes a leaked database useless for offline guessing.
 */
export class KeyHasher {
  readonly #peppers: ReadonlyMap<number, Buffer>;
  readonly currentVersion: number;

  constructor(secrets: Pick<ServerSecrets, 'peppers' | 'currentPepperVersion'>) {
    this.#peppers = secrets.peppers;
    this.currentVersion = secrets.currentPepperVersion;
  }

  hash(key: string, version: number = this.currentVersion): KeyHash {
    const pepper = this.#peppers.get(version);
    if (!pepper) throw new Error(`unknown pepper version ${version}`);
    return { pepperVersion: version, hash: createHmac('sha256', pepper).update(key).digest('hex') };
  }

  /** Hashes under older peppers, newest first: looked up only when the current one misses. */
  olderHashes(key: string): KeyHash[] {
    return [...this.#peppers.keys()]
      .filter((v) => v !== this.currentVersion)
      .sort((a, b) => b - a)
      .map((v) => this.hash(key, v));
  }

  /** Constant-time comparison of two hex hashes. */
  static equal(a: string, b: string): boolean {
    const left = Buffer.from(a, 'hex');
    const right = Buffer.from(b, 'hex');
    return left.length === right.length && timingSafeEqual(left, right);
  }
}
