import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Clock } from '../clock/index.ts';

/**
 * GitHub's secret-scanning public keys, which sign every alert GitHub sends to a partner
 * endpoint (ECDSA P-256 over SHA-256, DER signature, base64). The keys come from a file in
 * GitHub's own format (for machines without network, or pinned keys), and, when a URL is
 * configured, from GitHub's meta API: fetched when an unknown key identifier shows up, at
 * most once a minute, so forged identifiers cannot make keywarden hammer GitHub.
 */
export const GITHUB_KEYS_URL = 'https://api.github.com/meta/public_keys/secret_scanning';

interface KeysDocument {
  public_keys: Array<{ key_identifier: string; key: string; is_current?: boolean }>;
}

export interface GithubKeyringOptions {
  clock: Clock;
  /** A JSON file in the format of GitHub's meta API. */
  file?: string;
  /** Where to fetch the keys; null: never fetch. */
  url?: string | null;
  fetchKeys?: (url: string) => Promise<KeysDocument>;
}

const REFETCH_INTERVAL_MS = 60_000;

export class GithubKeyring {
  readonly #keys = new Map<string, KeyObject>();
  readonly #options: GithubKeyringOptions;
  #lastFetch = Number.NEGATIVE_INFINITY;

  constructor(options: GithubKeyringOptions) {
    this.#options = options;
    if (options.file) this.#load(JSON.parse(readFileSync(options.file, 'utf8')) as KeysDocument);
  }

  #load(document: KeysDocument): void {
    for (const entry of document.public_keys ?? []) {
      this.#keys.set(entry.key_identifier, createPublicKey(entry.key));
    }
  }

  get size(): number {
    return this.#keys.size;
  }

  async #key(identifier: string): Promise<KeyObject | undefined> {
    const known = this.#keys.get(identifier);
    if (known) return known;
    const { url, clock } = this.#options;
    if (!url || clock.now() - this.#lastFetch < REFETCH_INTERVAL_MS) return undefined;
    this.#lastFetch = clock.now();
    const fetchKeys =
      this.#options.fetchKeys ??
      (async (u: string) => {
        const response = await fetch(u, { signal: AbortSignal.timeout(5000) });
        if (!response.ok) throw new Error(`GitHub keys: HTTP ${response.status}`);
        return (await response.json()) as KeysDocument;
      });
    try {
      this.#load(await fetchKeys(url));
    } catch {
      return undefined;
    }
    return this.#keys.get(identifier);
  }

  /** True only for a well-formed signature of `body` by the key GitHub names. */
  async verify(
    identifier: string | undefined,
    signature: string | undefined,
    body: Buffer,
  ): Promise<boolean> {
    if (!identifier || !signature || identifier.length > 200 || signature.length > 300)
      return false;
    const key = await this.#key(identifier);
    if (!key) return false;
    try {
      return verify('sha256', body, { key, dsaEncoding: 'der' }, Buffer.from(signature, 'base64'));
    } catch {
      return false;
    }
  }
}
