import ipaddr from 'ipaddr.js';
import { LRUCache } from 'lru-cache';
import { Counter, type Registry } from 'prom-client';
import type { Clock } from '../clock/index.ts';
import { gcra, type RateLimitRule, type Tat } from '../limiter/index.ts';
import type { KeyRepository } from '../store/index.ts';
import { KnownKeyFilter } from './known-keys.ts';

/**
 * Keeps a key guesser from loading the store. Without it each distinct forged key (a valid
 * checksum is free to compute) cost one store query: about 8,000 a second from one client.
 *
 * A key the cache does not hold is looked up in the store when:
 *   1. the filter of existing key hashes (`KnownKeyFilter`) says "maybe" — every key that
 *      exists does, so it never refuses a real key; or
 *   2. the filter says "no" (or cannot be trusted right now) and the client's network (/24 of
 *      IPv4, /48 of IPv6, after trusted-proxy resolution) still has budget for unknown-key
 *      lookups (GCRA, `limit` per `windowSeconds`). An honest network rarely spends it; a
 *      guesser spends it in a moment.
 * Otherwise the lookup is refused, counted per network (`refusals()`, and the metric
 * `keywarden_unknown_key_lookups_total{decision="refused"}`), and the request waits up to
 * `holdMs` for the key's `key-created` message (`learn`) before it is answered NOT_FOUND.
 *
 * Why a new key still verifies on its first use, on any node:
 * - created on this node: the invalidation channel delivers `key-created` to this node's own
 *   listeners synchronously, before the create response carries the key out;
 * - created on another node: the message arrives within the channel's delivery latency
 *   (p99 in milliseconds); a request that comes sooner either has budget left (looked up)
 *   or waits for the message (`holdMs`, well above the channel's worst measured latency);
 * - while the channel is down, or after it lost messages (resync) until the filter is
 *   rebuilt from the store, the filter is not trusted: every unknown key goes to the budget.
 * The remaining false negative: a key created on another node while this node's channel is
 * down, first presented from a network that has spent its budget on unknown keys.
 */
export interface UnknownKeyGuardOptions {
  clock: Clock;
  /** Unknown-key lookups per network: a burst of `limit`, refilled at `limit / windowSeconds`. */
  limit: number;
  windowSeconds: number;
  /** How long a refused lookup waits for its key's `key-created` message. */
  holdMs?: number;
  /** Requests waiting at once; beyond it a refusal is answered at once. */
  maxHeld?: number;
  /** Networks whose budget and refusals are remembered (least recently seen are forgotten). */
  maxNetworks?: number;
  /** Whether this node hears the other nodes' invalidations now (the channel's `healthy`). */
  channelHealthy?: () => boolean;
  /** Called once when the filter holds more keys than it was sized for: rebuild it larger. */
  onOverCapacity?: (capacity: number) => void;
  registry?: Registry;
}

export type LookupDecision = 'filter' | 'budget' | 'refused';

export class UnknownKeyGuard {
  readonly #clock: Clock;
  readonly #rule: RateLimitRule;
  readonly #holdMs: number;
  readonly #maxHeld: number;
  readonly #channelHealthy: () => boolean;
  readonly #onOverCapacity: ((capacity: number) => void) | undefined;
  readonly #budgets: LRUCache<string, Tat>;
  readonly #refusals: LRUCache<string, number>;
  readonly #held = new Map<string, Array<(found: boolean) => void>>();
  #heldCount = 0;
  #filter: KnownKeyFilter | null = null;
  /** A filter being loaded: `learn` adds to it too, so nothing learnt meanwhile is missed. */
  #building: KnownKeyFilter | null = null;
  /** Bumped when messages may have been lost; a filter is trusted only if loaded since. */
  #epoch = 0;
  #filterEpoch = -1;
  #overCapacityReported = false;
  readonly #decisions: Counter<'decision'> | undefined;

  constructor(options: UnknownKeyGuardOptions) {
    this.#clock = options.clock;
    this.#rule = {
      name: 'unknown-keys',
      limit: options.limit,
      windowSeconds: options.windowSeconds,
    };
    this.#holdMs = options.holdMs ?? 250;
    this.#maxHeld = options.maxHeld ?? 10_000;
    this.#channelHealthy = options.channelHealthy ?? (() => true);
    this.#onOverCapacity = options.onOverCapacity;
    const maxNetworks = options.maxNetworks ?? 100_000;
    this.#budgets = new LRUCache({ max: maxNetworks });
    this.#refusals = new LRUCache({ max: maxNetworks });
    this.#decisions = options.registry
      ? new Counter({
          name: 'keywarden_unknown_key_lookups_total',
          help: 'Keys not in the cache, by what let them reach the store: the key filter ("filter"), the network budget ("budget"), or nothing ("refused")',
          labelNames: ['decision'] as const,
          registers: [options.registry],
        })
      : undefined;
  }

  /** The filter is loaded, complete since the last possible loss, and the channel is up. */
  get trusted(): boolean {
    return this.#filter !== null && this.#filterEpoch === this.#epoch && this.#channelHealthy();
  }

  get filterSize(): number {
    return this.#filter?.size ?? 0;
  }

  /**
   * Whether a key not in the cache may be looked up in the store. `hashes`: the presented
   * key's hash under the current pepper, then under older ones. A promise when the request
   * is held, resolving true if the key was learnt meanwhile.
   */
  admit(
    hashes: readonly string[],
    clientIp: string | null | undefined,
  ): boolean | Promise<boolean> {
    const trusted = this.trusted;
    // A hit counts even when the filter is not trusted: it never shrinks, so what it holds
    // exists. Untrusted only means a miss proves nothing (a key created meanwhile elsewhere).
    const filter = this.#filter;
    if (filter && hashes.some((hash) => filter.mightContain(hash))) {
      this.#decisions?.inc({ decision: 'filter' });
      return true;
    }
    const network = networkOf(clientIp);
    const now = this.#clock.now();
    const spent = gcra(this.#budgets.get(network) ?? null, now, 1, this.#rule);
    if (spent.allowed) {
      this.#budgets.set(network, spent.newTat);
      this.#decisions?.inc({ decision: 'budget' });
      return true;
    }
    this.#refusals.set(network, (this.#refusals.get(network) ?? 0) + 1);
    this.#decisions?.inc({ decision: 'refused' });
    // Untrusted, nothing says the message will come: answer at once.
    if (!trusted || this.#heldCount >= this.#maxHeld) return false;
    return this.#hold(hashes[0]!);
  }

  #hold(hash: string): Promise<boolean> {
    return new Promise((resolve) => {
      let waiters = this.#held.get(hash);
      if (!waiters) {
        waiters = [];
        this.#held.set(hash, waiters);
      }
      this.#heldCount++;
      const done = (found: boolean) => {
        clearTimeout(timer);
        this.#heldCount--;
        resolve(found);
      };
      waiters.push(done);
      const timer = setTimeout(() => {
        const list = this.#held.get(hash);
        const at = list?.indexOf(done) ?? -1;
        if (list && at !== -1) {
          list.splice(at, 1);
          if (list.length === 0) this.#held.delete(hash);
        }
        done(false);
      }, this.#holdMs);
    });
  }

  /** A key hash that exists (created, rotated in, or found by a lookup). */
  learn(hash: string): void {
    const filter = this.#filter;
    if (filter) {
      filter.add(hash);
      if (filter.overCapacity && !this.#overCapacityReported && !this.#building) {
        this.#overCapacityReported = true;
        this.#onOverCapacity?.(filter.capacity);
      }
    }
    this.#building?.add(hash);
    const waiters = this.#held.get(hash);
    if (waiters) {
      this.#held.delete(hash);
      for (const wake of waiters) wake(true);
    }
  }

  /** Messages may have been lost (the channel resynchronised): distrust until reloaded. */
  distrust(): void {
    this.#epoch++;
  }

  /**
   * Loads a new filter from every key hash in the store, sized for `capacity` keys (at least
   * twice what it finds), and swaps it in. Hashes learnt while it loads are added to both.
   */
  async load(hashes: () => AsyncIterable<string>, capacity = 1 << 18): Promise<void> {
    const epoch = this.#epoch;
    const next = new KnownKeyFilter(capacity);
    this.#building = next;
    try {
      for await (const hash of hashes()) next.add(hash);
    } finally {
      if (this.#building === next) this.#building = null;
    }
    if (next.overCapacity) return this.load(hashes, next.size * 2);
    this.#filter = next;
    this.#filterEpoch = epoch;
    this.#overCapacityReported = false;
  }

  /** Refused lookups per network since start (or since the network was last forgotten). */
  refusals(): ReadonlyMap<string, number> {
    return new Map(this.#refusals.entries());
  }
}

/** Every key hash in the store, newest first, a page at a time. */
export async function* storedKeyHashes(
  keys: Pick<KeyRepository, 'list'>,
  pageSize = 1000,
): AsyncIterable<string> {
  let beforeId: string | undefined;
  for (;;) {
    const page = await keys.list({ limit: pageSize, ...(beforeId && { beforeId }) });
    for (const key of page) yield key.hash;
    if (page.length < pageSize) return;
    beforeId = page.at(-1)!.id;
  }
}

/** The network a client address belongs to for the budget: its /24 (IPv4) or /48 (IPv6). */
export function networkOf(ip: string | null | undefined): string {
  if (!ip) return 'none';
  try {
    let address = ipaddr.parse(ip);
    if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) {
      address = (address as ipaddr.IPv6).toIPv4Address();
    }
    if (address.kind() === 'ipv4') {
      const [a, b, c] = (address as ipaddr.IPv4).octets;
      return `${a}.${b}.${c}.0/24`;
    }
    const parts = (address as ipaddr.IPv6).parts;
    return `${parts
      .slice(0, 3)
      .map((p) => p.toString(16))
      .join(':')}::/48`;
  } catch {
    return 'invalid';
  }
}
