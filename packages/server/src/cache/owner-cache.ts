import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock/index.ts';
import type { OwnerRecord } from '../store/index.ts';

/**
 * Owners' shared limits and credits, cached like keys: dropped on change (`invalidate`), and
 * re-read after `maxAgeMs` at the latest. "This owner has no record" is cached too, since
 * most keys' owners have no limits of their own.
 */
export class OwnerCache {
  readonly #clock: Clock;
  readonly #maxAgeMs: number;
  readonly #entries: LRUCache<
    string,
    { owner: OwnerRecord | null; loadedAt: number; revalidate?: boolean }
  >;

  constructor(options: { clock: Clock; maxAgeMs?: number; maxEntries?: number }) {
    this.#clock = options.clock;
    this.#maxAgeMs = options.maxAgeMs ?? 30_000;
    this.#entries = new LRUCache({ max: options.maxEntries ?? 100_000 });
  }

  /** undefined: not cached; null: cached as having no record. */
  get(ownerId: string): OwnerRecord | null | undefined {
    const entry = this.#entries.get(ownerId);
    if (!entry || entry.revalidate) return undefined;
    if (this.#clock.now() - entry.loadedAt >= this.#maxAgeMs) return undefined;
    return entry.owner;
  }

  /** Stale-if-error, as for keys. */
  getStale(ownerId: string, staleMs: number): OwnerRecord | null | undefined {
    const entry = this.#entries.get(ownerId);
    if (!entry || this.#clock.now() - entry.loadedAt >= this.#maxAgeMs + staleMs) return undefined;
    return entry.owner;
  }

  set(ownerId: string, owner: OwnerRecord | null): void {
    this.#entries.set(ownerId, { owner, loadedAt: this.#clock.now() });
  }

  invalidate(ownerId: string): void {
    this.#entries.delete(ownerId);
  }

  /**
   * Messages may have been lost (a resync): every entry is re-read before it serves again,
   * but stays for stale-if-error while the store is down (unlike `clear`).
   */
  markForRevalidation(): void {
    for (const entry of this.#entries.values()) entry.revalidate = true;
  }

  clear(): void {
    this.#entries.clear();
  }
}
