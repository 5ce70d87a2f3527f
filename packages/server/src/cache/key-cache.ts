import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock/index.ts';
import { compileIpMatcher, type IpMatcher } from '../netaddr/index.ts';
import type { KeyRecord, ProjectRecord } from '../store/index.ts';
import { decideFreshness, type FreshnessPolicy } from './freshness.ts';
import { LoadGuard, type LoadTicket } from './load-guard.ts';

/**
 * The verifier's in-process cache, keyed by the key hash (never the plaintext).
 *
 * - Positive entries hold the key and its project, with the IP allowlist compiled once.
 *   They are dropped at once when the key or project changes (`invalidateKey`,
 *   `invalidateProject`), and re-read after `maxAgeMs`, which bounds staleness if an
 *   invalidation is ever missed.
 * - A load races the invalidations: a load that read the row before a change and finishes
 *   after the change's invalidation must not be cached (`beginLoad` / `set`, load-guard.ts).
 * - Stale-if-error and the revocation bound (freshness.ts): an aged entry stays (the LRU
 *   bounds memory) and serves while the store fails (`getStale`), but never past
 *   `revocationBoundMs` after the last moment this node knew it was current. A resync after
 *   the channel was down marks entries for revalidation (`resync`) instead of dropping them:
 *   while the store is down too, they still serve within the bound.
 * - Negative entries remember hashes the store does not know, so a flood of random keys
 *   costs one store query per distinct key per `negativeTtlMs`, not one per request. A key
 *   created later drops its negative entry (`forgetMissing`), so it verifies at once.
 */
export interface CachedKey {
  key: KeyRecord;
  project: ProjectRecord;
  ipMatcher: IpMatcher;
  loadedAt: number;
  /** Set by a resync: known current only up to here; re-read before it is fresh again. */
  currentUntil?: number;
}

export interface KeyCacheOptions {
  clock: Clock;
  maxEntries?: number;
  maxAgeMs?: number;
  maxNegativeEntries?: number;
  negativeTtlMs?: number;
  /**
   * The longest a changed (revoked) key may be served by a node that hears no invalidations
   * (KEYWARDEN_REVOCATION_BOUND_MS). Default 30 s.
   */
  revocationBoundMs?: number;
  /**
   * False for a cluster channel that is not subscribed yet: until its first resync, this node
   * hears nothing, and only what it read from the store is current. Default true.
   */
  hearing?: boolean;
}

export class KeyCache {
  readonly #clock: Clock;
  readonly #maxAgeMs: number;
  readonly #boundMs: number;
  readonly #negativeTtlMs: number;
  readonly #byHash: LRUCache<string, CachedKey>;
  readonly #hashById = new Map<string, string>();
  readonly #missing: LRUCache<string, number>;
  readonly #guard = new LoadGuard();
  /** Since when this node may have missed invalidations; null while it hears them all. */
  #lostAt: number | null;
  #lastRevision = 0;

  constructor(options: KeyCacheOptions) {
    this.#clock = options.clock;
    this.#maxAgeMs = options.maxAgeMs ?? 30_000;
    this.#boundMs = options.revocationBoundMs ?? 30_000;
    this.#negativeTtlMs = options.negativeTtlMs ?? 60_000;
    this.#lostAt = options.hearing === false ? options.clock.now() : null;
    this.#byHash = new LRUCache({
      max: options.maxEntries ?? 100_000,
      dispose: (entry, hash) => {
        if (this.#hashById.get(entry.key.id) === hash) this.#hashById.delete(entry.key.id);
      },
    });
    this.#missing = new LRUCache({ max: options.maxNegativeEntries ?? 100_000 });
  }

  /** A fresh entry: servable without the store. `now`: the caller's reading of the clock. */
  get(hash: string, now = this.#clock.now()): CachedKey | undefined {
    const entry = this.#byHash.get(hash);
    // The hot path: with the channel up, only the age matters (inlined from freshness.ts).
    if (!entry || now - entry.loadedAt >= this.#maxAgeMs || entry.currentUntil !== undefined) {
      return undefined;
    }
    if (this.#lostAt !== null && now - Math.max(entry.loadedAt, this.#lostAt) >= this.#boundMs) {
      return undefined;
    }
    return entry;
  }

  /**
   * Stale-if-error: an entry past its age (or marked for revalidation) by less than
   * `staleMs`, and within the revocation bound. Never an invalidated one.
   */
  getStale(hash: string, staleMs: number, now = this.#clock.now()): CachedKey | undefined {
    const entry = this.#byHash.get(hash);
    if (!entry) return undefined;
    const policy: FreshnessPolicy = {
      maxAgeMs: this.#maxAgeMs,
      staleIfErrorMs: staleMs,
      revocationBoundMs: this.#boundMs,
    };
    return decideFreshness(entry, this.#lostAt, now, policy) === 'expired' ? undefined : entry;
  }

  /** Call before reading the store; hand the ticket to `set` / `rememberMissing`. */
  beginLoad(): LoadTicket {
    return this.#guard.begin();
  }

  /**
   * Caches a loaded key, unless an invalidation heard since `ticket` was taken has superseded
   * what the load read: then nothing is cached and the answer is null (read it again).
   */
  set(hash: string, key: KeyRecord, project: ProjectRecord, ticket?: LoadTicket): CachedKey | null {
    if (ticket !== undefined && this.#guard.superseded(ticket, key, project.id)) return null;
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

  /** Unless the key was created since `ticket` (the load may have read before the insert). */
  rememberMissing(hash: string, ticket?: LoadTicket): void {
    if (ticket !== undefined && this.#guard.createdSince(ticket, hash)) return;
    this.#missing.set(hash, this.#clock.now() + this.#negativeTtlMs);
  }

  /** A key with this hash was created: forget that it was missing, and any load that said so. */
  forgetMissing(hash: string): void {
    this.#guard.markCreated(hash);
    this.#missing.delete(hash);
  }

  /** `revision`: the store's revision of the change, when the message carries it. */
  invalidateKey(keyId: string, revision?: number): void {
    this.#guard.markKey(keyId, revision);
    if (revision !== undefined && revision > this.#lastRevision) this.#lastRevision = revision;
    const hash = this.#hashById.get(keyId);
    if (hash !== undefined) this.#byHash.delete(hash);
  }

  invalidateProject(projectId: string): void {
    this.#guard.markProject(projectId);
    for (const [hash, entry] of this.#byHash.entries()) {
      if (entry.project.id === projectId) this.#byHash.delete(hash);
    }
  }

  /**
   * The invalidation channel lost its subscription: from `silentForMs` ago, this node may miss
   * changes, so entries serve only within the revocation bound of that moment (or their load).
   */
  channelLost(silentForMs = 0): void {
    if (this.#lostAt === null) this.#lostAt = this.#clock.now() - silentForMs;
  }

  /**
   * Subscribed again, or a message this build cannot read: what was published meanwhile is
   * unknown. Every entry is marked for revalidation — re-read before it serves fresh, and
   * served stale (while the store fails) only within the bound of the moment it was last
   * known current — rather than dropped, so a reconnect during a store outage does not turn
   * every cached key into a 503. Loads in flight are not cached; negative entries go.
   */
  resync(): void {
    const now = this.#clock.now();
    const lostAt = this.#lostAt ?? now;
    for (const entry of this.#byHash.values()) {
      entry.currentUntil ??= Math.max(entry.loadedAt, lostAt);
    }
    this.#missing.clear();
    this.#guard.markAll();
    this.#lostAt = null;
  }

  /** Whether this node hears every invalidation now. */
  get hearing(): boolean {
    return this.#lostAt === null;
  }

  /**
   * The highest store revision this node has applied from an invalidation (0: none yet). For
   * acknowledgements: a node that reports revision N has dropped every key changed at N.
   */
  get lastAppliedRevision(): number {
    return this.#lastRevision;
  }

  clear(): void {
    this.#byHash.clear();
    this.#missing.clear();
    this.#guard.markAll();
  }

  get size(): { keys: number; missing: number } {
    return { keys: this.#byHash.size, missing: this.#missing.size };
  }
}
