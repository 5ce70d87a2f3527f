import { Counter, Gauge, type Registry } from 'prom-client';
import type { Clock } from '../clock/index.ts';
import type { InvalidationChannel } from '../invalidation/index.ts';
import type { Logger } from '../log/index.ts';
import type { KeyCache } from './key-cache.ts';
import type { OwnerCache } from './owner-cache.ts';
import { StoreBreaker } from './store-breaker.ts';

/**
 * What a node does with its caches when the invalidation channel or the store fails, wired
 * once (app/keywarden.ts): the channel's losses and resyncs drive the key cache's revocation
 * bound; the store breaker backs verification off a failing store. Each change of state is
 * logged once; repeats (every reconnect attempt, every failed query) are counted in metrics
 * and logged at debug, so an outage does not become a log storm.
 */
export interface FaultWiring {
  breaker: StoreBreaker;
  /** For the invalidation channel's `onError`: every failed attempt, counted. */
  onChannelError(error: unknown): void;
  /** For the verifier's `onStoreError`: every failed store read, counted. */
  onStoreError(error: unknown): void;
}

export function wireCacheFaults(options: {
  cache: KeyCache;
  owners: OwnerCache;
  invalidation: InvalidationChannel;
  clock: Clock;
  logger?: Logger;
  registry: Registry;
  revocationBoundMs: number;
}): FaultWiring {
  const { cache, owners, invalidation, logger, registry } = options;
  const channelErrors = new Counter({
    name: 'keywarden_invalidation_channel_errors_total',
    help: 'Invalidation channel errors: lost links, failed reconnect attempts and publishes',
    registers: [registry],
  });
  const storeErrors = new Counter({
    name: 'keywarden_store_read_failures_total',
    help: 'Verification reads of the store that failed (the breaker then backs off)',
    registers: [registry],
  });
  const breaker = new StoreBreaker({
    clock: options.clock,
    onOpen: (error) =>
      logger?.error(
        { err: error, revocationBoundMs: options.revocationBoundMs },
        'the store does not answer: serving cached keys within the revocation bound, others get 503; backing off',
      ),
    onClose: (downForMs) =>
      logger?.warn({ downForMs }, 'the store answers again: verifications read it again'),
  });
  new Gauge({
    name: 'keywarden_store_breaker_open',
    help: '1 while verification backs off from a failing store',
    registers: [registry],
    collect() {
      this.set(breaker.open ? 1 : 0);
    },
  });
  new Gauge({
    name: 'keywarden_store_reads_skipped',
    help: 'Verifications answered without waiting on a failing store (stale within the bound, or 503), since start',
    registers: [registry],
    collect() {
      this.set(breaker.counts.skipped);
    },
  });
  new Gauge({
    name: 'keywarden_invalidation_revision',
    help: 'The highest store revision of a key change this node has applied',
    registers: [registry],
    collect() {
      this.set(cache.lastAppliedRevision);
    },
  });
  new Gauge({
    name: 'keywarden_invalidation_hearing',
    help: '1 while this node hears every invalidation (0: the revocation bound runs)',
    registers: [registry],
    collect() {
      this.set(cache.hearing ? 1 : 0);
    },
  });

  invalidation.onLost?.((silentForMs, error) => {
    cache.channelLost(silentForMs);
    logger?.warn(
      { err: error, revocationBoundMs: options.revocationBoundMs },
      'invalidation channel lost: cached keys serve at most the revocation bound until it is back',
    );
  });
  // A channel that lost its connection may have lost messages: every entry is re-read before
  // it serves fresh again, and serves stale only within the bound while the store is down.
  invalidation.onResync?.(() => {
    const wasHearing = cache.hearing;
    cache.resync();
    owners.markForRevalidation();
    if (!wasHearing || cache.size.keys > 0) {
      logger?.info('invalidation channel subscribed: cached entries are re-read before use');
    }
  });
  return {
    breaker,
    onChannelError(error) {
      channelErrors.inc();
      logger?.debug({ err: error }, 'invalidation channel');
    },
    onStoreError(error) {
      storeErrors.inc();
      logger?.debug({ err: error }, 'a verification read of the store failed');
    },
  };
}
