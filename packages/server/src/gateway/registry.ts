import { type buildConnector, Pool } from 'undici';
import type { Clock } from '../clock/index.ts';
import type { UpstreamRecord } from '../store/index.ts';

/**
 * The upstreams this node forwards to, resolved once and kept: the record, the secret
 * decrypted into the header value it becomes, and one pooled undici client per upstream
 * (keep-alive connections are what make the added latency small).
 *
 * An upstream that changes (new secret, new URL, deleted) is dropped on its invalidation
 * message, on every node; its old pool is closed gracefully, so requests already in flight
 * finish with the secret they started with while new ones use the new secret — a provider
 * key is replaced without a failed request. Unknown names are remembered briefly too, so
 * that callers guessing names cannot make every request a store query; creating an upstream
 * publishes its name and clears that.
 */
export interface ResolvedUpstream {
  record: UpstreamRecord;
  /** The injected header, e.g. `['authorization', 'Bearer sk-…']`; null without a secret. */
  credential: [name: string, value: string] | null;
  /** Path of the base URL, without the trailing slash, prefixed to every forwarded path. */
  basePath: string;
  pool: Pool;
}

export type ResolveUpstream = (
  name: string,
) => Promise<{ upstream: UpstreamRecord; secret: string | null } | null>;

const MAX_ENTRIES = 1024;

interface Entry {
  value: ResolvedUpstream | null;
  loadedAt: number;
}

export class UpstreamRegistry {
  readonly #resolve: ResolveUpstream;
  readonly #clock: Clock;
  readonly #maxAgeMs: number;
  readonly #connector: ((record: UpstreamRecord) => buildConnector.connector) | undefined;
  readonly #entries = new Map<string, Entry>();
  readonly #loading = new Map<string, Promise<ResolvedUpstream | null>>();

  constructor(options: {
    resolve: ResolveUpstream;
    clock: Clock;
    maxAgeMs: number;
    /** Dials each upstream through the host policy (upstreams/connector.ts): resolve, check, connect. */
    connector?: (record: UpstreamRecord) => buildConnector.connector;
  }) {
    this.#resolve = options.resolve;
    this.#clock = options.clock;
    this.#maxAgeMs = options.maxAgeMs;
    this.#connector = options.connector;
  }

  async get(name: string): Promise<ResolvedUpstream | null> {
    const entry = this.#entries.get(name);
    if (entry && this.#clock.now() - entry.loadedAt < this.#maxAgeMs) return entry.value;
    let loading = this.#loading.get(name);
    if (!loading) {
      loading = this.#load(name, entry?.value ?? null).finally(() => this.#loading.delete(name));
      this.#loading.set(name, loading);
    }
    return loading;
  }

  async #load(name: string, previous: ResolvedUpstream | null): Promise<ResolvedUpstream | null> {
    const found = await this.#resolve(name);
    const value = found ? this.#build(found.upstream, found.secret, previous) : null;
    // A pool that is not carried over is closed gracefully: its requests in flight finish.
    if (previous && previous.pool !== value?.pool) void previous.pool.close();
    if (value === null && this.#entries.size >= MAX_ENTRIES) this.#forgetOneUnknown();
    this.#entries.set(name, { value, loadedAt: this.#clock.now() });
    return value;
  }

  /** Unknown names are remembered in bounded number: callers choose them. */
  #forgetOneUnknown(): void {
    for (const [name, entry] of this.#entries) {
      if (entry.value === null) {
        this.#entries.delete(name);
        return;
      }
    }
  }

  #build(
    record: UpstreamRecord,
    secret: string | null,
    previous: ResolvedUpstream | null,
  ): ResolvedUpstream {
    const url = new URL(record.baseUrl);
    const credential: ResolvedUpstream['credential'] =
      secret === null
        ? null
        : [record.authHeader, record.authScheme ? `${record.authScheme} ${secret}` : secret];
    // Same origin and timeouts: keep the warm pool (only the secret or the routes changed).
    const reusable =
      previous &&
      previous.pool.closed === false &&
      new URL(previous.record.baseUrl).origin === url.origin &&
      JSON.stringify(previous.record.timeouts) === JSON.stringify(record.timeouts);
    const pool = reusable
      ? previous.pool
      : new Pool(url.origin, {
          connect: this.#connector?.(record) ?? { timeout: record.timeouts.connectMs },
          headersTimeout: record.timeouts.headersMs,
          bodyTimeout: record.timeouts.bodyMs,
          keepAliveTimeout: 10_000,
          connections: 256,
        });
    return { record, credential, basePath: url.pathname.replace(/\/+$/, ''), pool };
  }

  /** An upstream changed somewhere in the cluster: forget it (by its old and new names). */
  invalidate(name: string | null, id: string | null): void {
    for (const [cached, entry] of this.#entries) {
      if (cached === name || (id !== null && entry.value?.record.id === id)) {
        // Not closed here: the next `get` reuses or closes it, so in-flight requests finish.
        this.#entries.set(cached, { value: entry.value, loadedAt: -Infinity });
      }
    }
  }

  async close(): Promise<void> {
    const pools = new Set<Pool>();
    for (const entry of this.#entries.values()) if (entry.value) pools.add(entry.value.pool);
    this.#entries.clear();
    await Promise.all([...pools].map((pool) => pool.close()));
  }
}
