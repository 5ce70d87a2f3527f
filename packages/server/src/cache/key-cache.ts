import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock/index.ts';
import { compileIpMatcher, type IpMatcher } from '../netaddr/index.ts';
import type { KeyRecord, ProjectRecord } from '../store/index.ts';

/**
 * The verifier's in-process cache, keyed by the key hash (never the plaintext).
 *
 * - Positive entries hold the key and its project, with the IP allowlist compiled once.
 *   They are dropped at once when the key or project changes (`invalidateKey`,
 *   `invalidateProject`), and in any case after `maxAgeMs`, which bounds staleness if an
 *   invalidation is ever missed.
 * - Negative entries remember hashes the store does not know, so a flood of random keys
 *   costs one store query per distinct key per `negativeTtlMs`, not one per request. A key
 *   created later drops its negative entry (`forgetMissing`), so it verifies at once.
 */
export interface CachedKey {
  key: KeyRecord;
  project: ProjectRecord;
  ipMatcher: IpMatcher;
  loadedAt: number;
}

export interface KeyCacheOptions {
  clock: Clock;
  maxEntries?: number;
  maxAgeMs?: number;
  maxNegativeEntries?: number;
  negativeTtlMs?: number;
}

export class KeyCache {
  readonly #clock: Clock;
  readonly #maxAgeMs: number;
  readonly #negativeTtlMs: number;
  readonly #byHash: LRUCache<string, CachedKey>;
  readonly #hashById = new Map<string, string>();
  readonly #missing: LRUCache<string, number>;

  constructor(options: KeyCacheOptions) {
    this.#clock = options.clock;
    this.#maxAgeMs = options.maxAgeMs ?? 30_000;
    this.#negativeTtlMs = options.negativeTtlMs ?? 60_000;
    this.#byHash = new LRUCache({
      max: options.maxEntries ?? 100_000,
      dispose: (entry, hash) => {
        if (this.#hashById.get(entry.key.id) === hash) this.#hashById.delete(entry.key.id);
      },
    });
    this.#missing = new LRUCache({ max: options.maxNegativeEntries ?? 100_000 });
  }

  /** `now`: the caller's reading of the cache's clock, when it has just taken one. */
  get(hash: string, now = this.#clock.now()): CachedKey | undefined {
    const entry = this.#byHash.get(hash);
    // An aged entry stays (the LRU bounds memory) so that it can still serve while the store
    // is down (`getStale`); an invalidated one is gone for good.
    if (!entry || now - entry.loadedAt >= this.#maxAgeMs) return undefined;
    return entry;
  }

  /** Stale-if-error: an entry past its age, but by less than `staleMs`. Never an invalidated one. */
  getStale(hash: string, staleMs: number): CachedKey | undefined {
    const entry = this.#byHash.get(hash);
    if (!entry || this.#clock.now() - entry.loadedAt >= this.#maxAgeMs + staleMs) return undefined;
    return entry;
  }

  set(hash: string, key: KeyRecord, project: ProjectRecord): CachedKey {
    const entry: CachedKey = {
      key,
      project,
      ipMatcher: compileIpMatcher(key.allowedIps),
      loadedAt: this.#clock.now(),
    };
    this.#byHash.set(hash, entry);
    this.#hashById.set(key.id, hash);
    this.#missing.delete(hash);
    return entry;
  }

  isKnownMissing(hash: string, now = this.#clock.now()): boolean {
    const until = this.#missing.get(hash);
    if (until === undefined) return false;
    if (now >= until) {
      this.#missing.delete(hash);
      return false;
    }
    return true;
  }

  rememberMissing(hash: string): void {
    this.#missing.set(hash, this.#clock.now() + this.#negativeTtlMs);
  }

  forgetMissing(hash: string): void {
    this.#missing.delete(hash);
  }

  invalidateKey(keyId: string): void {
    const hash = this.#hashById.get(keyId);
    if (hash !== undefined) this.#byHash.delete(hash);
  }

  invalidateProject(projectId: string): void {
    for (const [hash, entry] of this.#byHash.entries()) {
      if (entry.project.id === projectId) this.#byHash.delete(hash);
    }
  }

  clear(): void {
    this.#byHash.clear();
    this.#missing.clear();
  }

  get size(): { keys: number; missing: number } {
    return { keys: this.#byHash.size, missing: this.#missing.size };
  }
}
