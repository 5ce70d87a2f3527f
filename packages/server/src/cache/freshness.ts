/**
 * Whether a cached key may be served: a pure decision over times, fed the clock's reading.
 *
 * An entry is known to be current as of a moment (`currentAt`): its load, or later if this
 * node has heard every invalidation since. While the channel is up and there was no gap
 * since the load, that is now: a change made anywhere would have dropped the entry. While it
 * is down, the node has heard everything up to `lostAt` (the last moment the link was known
 * to carry everything). After a gap (a resync), an entry loaded before it is current only as
 * of the gap's start (`currentUntil`), and is re-read before it is served fresh again.
 *
 * The revocation bound: no entry is served, fresh or stale, more than `revocationBoundMs`
 * past the moment it was known current. That is what makes "a revoked key stops working on
 * every node within the bound" true for a node cut from both the channel and the store.
 */
export interface FreshnessPolicy {
  /** Re-read from the store after this age, whatever the channel says. */
  maxAgeMs: number;
  /** How long past `maxAgeMs` an entry may still serve while the store fails. */
  staleIfErrorMs: number;
  /** No entry is served longer than this past the moment it was known current. */
  revocationBoundMs: number;
}

export interface EntryTimes {
  loadedAt: number;
  /** Set by a resync: current only up to here, and must be re-read before it is fresh again. */
  currentUntil?: number;
}

export type Freshness =
  /** Serve it, no store needed. */
  | 'fresh'
  /** Read the store; if the store fails, it may still serve (stale-if-error). */
  | 'stale'
  /** Never serve it: past stale-if-error or past the revocation bound. */
  | 'expired';

/**
 * `lostAt`: since when this node may have missed invalidations (null: it hears them now).
 */
export function currentAt(entry: EntryTimes, lostAt: number | null, now: number): number {
  if (entry.currentUntil !== undefined) return entry.currentUntil;
  return lostAt === null ? now : Math.max(entry.loadedAt, lostAt);
}

export function decideFreshness(
  entry: EntryTimes,
  lostAt: number | null,
  now: number,
  policy: FreshnessPolicy,
): Freshness {
  const age = now - entry.loadedAt;
  if (now - currentAt(entry, lostAt, now) >= policy.revocationBoundMs) return 'expired';
  if (age >= policy.maxAgeMs + policy.staleIfErrorMs) return 'expired';
  if (age < policy.maxAgeMs && entry.currentUntil === undefined) return 'fresh';
  return 'stale';
}
