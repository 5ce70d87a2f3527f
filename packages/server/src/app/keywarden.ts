import { join } from 'node:path';
import { KeyCache, OwnerCache, repeatedFailureLog, wireCacheFaults } from '../cache/index.ts';
import { type Clock, systemClock } from '../clock/index.ts';
import type { Config } from '../config/index.ts';
import { Gateway, PriceTable, UpstreamRegistry } from '../gateway/index.ts';
import {
  type InvalidationChannel,
  LocalInvalidationChannel,
  PostgresInvalidationChannel,
  RedisInvalidationChannel,
} from '../invalidation/index.ts';
import { KeyService, RotationService } from '../keys/index.ts';
import { GithubKeyring, LeakService } from '../leaks/index.ts';
import {
  FailoverRateLimiter,
  MemoryRateLimiter,
  type RateLimiter,
  RedisRateLimiter,
} from '../limiter/index.ts';
import type { Logger } from '../log/index.ts';
import { Metrics } from '../metrics/index.ts';
import { OwnerService } from '../owners/index.ts';
import { ProjectService } from '../projects/index.ts';
import { KeyHasher, loadSecrets, type ServerSecrets } from '../secrets/index.ts';
import { openPostgresStore, openSqliteStore, type Store } from '../store/index.ts';
import { UpstreamHostGuard, type UpstreamNetwork, UpstreamService } from '../upstreams/index.ts';
import { UsageRecorder, UsageService } from '../usage/index.ts';
import {
  CreditsWriteBackLoop,
  keySubject,
  LastUsedRecorder,
  ownerSubject,
  storedKeyHashes,
  UnknownKeyGuard,
  Verifier,
} from '../verify/index.ts';

/**
 * Everything a keywarden node is made of, wired once. The HTTP server, the CLI's direct
 * commands and the tests all build on this, so they share one verifier and one set of
 * services.
 */
export interface Keywarden {
  config: Config;
  clock: Clock;
  store: Store;
  secrets: ServerSecrets;
  hasher: KeyHasher;
  cache: KeyCache;
  owners: OwnerCache;
  limiter: RateLimiter;
  metrics: Metrics;
  invalidation: InvalidationChannel;
  verifier: Verifier;
  /** The key filter and per-network budget for unknown keys; null when turned off. */
  unknownKeys: UnknownKeyGuard | null;
  keys: KeyService;
  projects: ProjectService;
  ownerService: OwnerService;
  rotation: RotationService;
  leaks: LeakService;
  githubKeyring: GithubKeyring;
  usage: UsageRecorder;
  usageReports: UsageService;
  lastUsed: LastUsedRecorder;
  creditsWriteBack: CreditsWriteBackLoop;
  /** Gateway upstreams and their sealed secrets. */
  upstreams: UpstreamService;
  /** Where upstreams may point (host-policy.ts), checked on write and on every connect. */
  upstreamHosts: UpstreamHostGuard;
  /** `/gw/{upstream}/…`: the OpenAI-compatible gateway and reverse proxy. */
  gateway: Gateway;
  /** The gateway's price table (built-in, overlaid by KEYWARDEN_PRICES_FILE). */
  prices: PriceTable;
  close(): Promise<void>;
}

export interface OpenOptions {
  clock?: Clock;
  logger?: Logger;
  env?: NodeJS.ProcessEnv;
  /** For tests: how often last-used times are written (0 = only on flush/close). */
  lastUsedIntervalMs?: number;
  /** How often usage events and credit balances are written (0 = only on flush/close). */
  flushIntervalMs?: number;
  /** How upstream hosts are resolved and dialled (tests inject both; default: the system). */
  upstreamNetwork?: UpstreamNetwork;
}

export async function openStore(config: Config, logger?: Logger): Promise<Store> {
  if (config.databaseUrl) {
    if (/^postgres(ql)?:\/\//i.test(config.databaseUrl)) {
      // Cluster mode: secrets come from the environment (loadSecrets without a dataDir).
      return openPostgresStore(config.databaseUrl, {
        onError: (error) =>
          logger?.warn({ err: error }, 'an idle PostgreSQL connection failed; it is replaced'),
      });
    }
    throw new Error('KEYWARDEN_DATABASE_URL must be a postgres:// URL');
  }
  return openSqliteStore(join(config.dataDir, 'keywarden.db'));
}

/**
 * One node: rate limits in process. With KEYWARDEN_REDIS_URL: in Redis, shared by every node,
 * with the configured failure policy when Redis does not answer.
 */
function openLimiter(config: Config, clock: Clock, logger: Logger | undefined): RateLimiter {
  const local = new MemoryRateLimiter({ clock });
  if (!config.redisUrl) return local;
  const redis = new RedisRateLimiter({
    url: config.redisUrl,
    prefix: config.redisPrefix,
    commandTimeoutMs: config.limiterRedisTimeoutMs,
    onError: (error) => logger?.debug({ err: error }, 'redis limiter connection error'),
  });
  return new FailoverRateLimiter(redis, local, {
    mode: config.limiterFailureMode,
    expectedNodes: config.expectedNodes,
    onStateChange: (degraded, error) => {
      if (degraded) {
        logger?.error(
          { err: error, policy: config.limiterFailureMode, expectedNodes: config.expectedNodes },
          `Redis does not answer: rate limits now ${describeFailureMode(config)}`,
        );
      } else logger?.warn('Redis answers again: rate limits are shared by all nodes again');
    },
  });
}

function describeFailureMode(config: Config): string {
  if (config.limiterFailureMode === 'open') return 'not enforced (policy: open)';
  if (config.limiterFailureMode === 'closed')
    return 'refuse every limited request (policy: closed)';
  return `enforced per node at 1/${config.expectedNodes} of each limit (policy: local)`;
}

/**
 * How changes reach every node: in process on one node; Redis pub/sub when there is Redis;
 * PostgreSQL LISTEN/NOTIFY when the store is PostgreSQL and there is no Redis.
 */
function openInvalidationChannel(
  config: Config,
  onError: (error: unknown) => void,
): InvalidationChannel {
  if (config.redisUrl)
    return new RedisInvalidationChannel({
      url: config.redisUrl,
      prefix: config.redisPrefix,
      onError,
    });
  if (config.databaseUrl)
    return new PostgresInvalidationChannel({ url: config.databaseUrl, onError });
  return new LocalInvalidationChannel();
}

export async function openKeywarden(config: Config, options: OpenOptions = {}): Promise<Keywarden> {
  const clock = options.clock ?? systemClock;
  const secrets = loadSecrets({
    env: options.env ?? process.env,
    dataDir: config.databaseUrl ? undefined : config.dataDir,
  });
  const store = await openStore(config, options.logger);
  const hasher = new KeyHasher(secrets);
  const cache = new KeyCache({
    clock,
    maxAgeMs: config.cacheMaxAgeMs,
    negativeTtlMs: config.negativeCacheTtlMs,
    revocationBoundMs: config.revocationBoundMs,
  });
  const owners = new OwnerCache({ clock, maxAgeMs: config.cacheMaxAgeMs });
  const limiter = openLimiter(config, clock, options.logger);
  let onChannelError = (_error: unknown) => {};
  const invalidation = openInvalidationChannel(config, (error) => onChannelError(error));
  // Not subscribed yet: until the first resync, only what is read from the store is current.
  if (invalidation.healthy === false) cache.channelLost();
  const upstreamHosts = new UpstreamHostGuard({
    allowLoopback: config.gateway.allowLoopbackUpstreams,
    listen: { host: config.host, port: config.port },
    network: options.upstreamNetwork,
  });
  const upstreams = new UpstreamService({
    store,
    clock,
    invalidation,
    masterKey: secrets.masterKey,
    hosts: upstreamHosts,
  });
  const registry = new UpstreamRegistry({
    resolve: (name) => upstreams.resolve(name),
    clock,
    maxAgeMs: config.cacheMaxAgeMs,
    connector: (record) => upstreamHosts.connectorFor(record),
  });
  const metrics = new Metrics({ usage: () => usage.stats, cache: () => cache.size });
  const unknownKeys = config.unknownKeys.enabled
    ? new UnknownKeyGuard({
        clock,
        limit: config.unknownKeys.limit,
        windowSeconds: config.unknownKeys.windowSeconds,
        channelHealthy: () => invalidation.healthy !== false,
        onOverCapacity: (capacity) => loadKeyFilter(capacity * 4),
        registry: metrics.registry,
      })
    : null;
  // Until the filter is loaded, unknown keys are looked up within the network budget only.
  // A load that fails (the store is down) is retried: nothing else would reload it.
  let filterRetry: NodeJS.Timeout | undefined;
  const loadKeyFilter = (capacity?: number): Promise<void> | undefined =>
    unknownKeys
      ?.load(() => storedKeyHashes(store.keys), capacity)
      .catch((error: unknown) => {
        options.logger?.error({ err: error }, 'loading the key filter failed; budget only');
        clearTimeout(filterRetry);
        filterRetry = setTimeout(() => void loadKeyFilter(capacity), 5000).unref();
      });
  // A channel that lost its connection may have lost messages, creations among them: the
  // filter is not trusted until it is reloaded (the caches' resync is in cache/wiring.ts).
  invalidation.onResync?.(() => {
    unknownKeys?.distrust();
    void loadKeyFilter();
  });
  invalidation.subscribe((message) => {
    switch (message.type) {
      case 'key':
        cache.invalidateKey(message.keyId, message.revision);
        if (message.creditsChanged) void limiter.resetCredits(keySubject(message.keyId));
        break;
      case 'owner':
        owners.invalidate(message.ownerId);
        if (message.creditsChanged) void limiter.resetCredits(ownerSubject(message.ownerId));
        break;
      case 'key-created':
        cache.forgetMissing(message.hash);
        unknownKeys?.learn(message.hash);
        break;
      case 'project':
        cache.invalidateProject(message.projectId);
        break;
      case 'upstream':
        registry.invalidate(message.name, message.upstreamId);
        break;
    }
  });
  // Loops that retry every second while the store is down: one line per outage, not per try.
  const logError = (what: string) => repeatedFailureLog(options.logger, what);
  const lastUsed = new LastUsedRecorder(store.keys, {
    intervalMs: options.lastUsedIntervalMs ?? 1000,
    onError: logError('writing last-used times failed'),
  });
  const flushIntervalMs = options.flushIntervalMs ?? 1000;
  // SQLite: written by a worker thread (the request thread only fills the buffer).
  const usage = new UsageRecorder(store.usage.openBatchWriter?.() ?? store.usage, {
    flushIntervalMs,
    onFlushError: logError('writing usage events failed; they stay buffered and are retried'),
    onBackpressure: (stats) =>
      options.logger?.warn(
        { buffered: stats.buffered },
        'usage buffer full: verifications wait for the next flush',
      ),
  });
  const creditsWriteBack = new CreditsWriteBackLoop(limiter, store, {
    intervalMs: flushIntervalMs,
    onError: logError('writing credit balances failed'),
  });
  const prices = PriceTable.load(config.gateway.pricesFile);
  // Channel losses and resyncs, the store breaker, and their logs and metrics (cache/wiring.ts).
  const faults = wireCacheFaults({
    cache,
    owners,
    invalidation,
    clock,
    logger: options.logger,
    registry: metrics.registry,
    revocationBoundMs: config.revocationBoundMs,
  });
  onChannelError = faults.onChannelError;
  const verifier = new Verifier({
    store,
    hasher,
    cache,
    owners,
    clock,
    limiter,
    lastUsed,
    usage,
    metrics,
    unknownKeys: unknownKeys ?? undefined,
    staleIfErrorMs: config.staleIfErrorMs,
    breaker: faults.breaker,
    onStoreError: faults.onStoreError,
  });
  // Rebuilt from the store at start (a cluster channel's first subscription reloads it, as
  // every resync does: messages sent before it are not heard).
  await loadKeyFilter();
  return {
    config,
    clock,
    store,
    secrets,
    hasher,
    cache,
    owners,
    limiter,
    metrics,
    invalidation,
    verifier,
    unknownKeys,
    keys: new KeyService({ store, hasher, clock, invalidation }),
    projects: new ProjectService({ store, clock, invalidation }),
    ownerService: new OwnerService({ store, clock, invalidation }),
    rotation: new RotationService({ store, hasher, clock, invalidation }),
    leaks: new LeakService({
      store,
      hasher,
      clock,
      invalidation,
      onLeak: (leak, key) => {
        metrics.leaks.inc({ reporter: leak.reporter, action: leak.action });
        options.logger?.warn(
          {
            alert: 'key_leaked',
            keyId: key.id,
            key: key.display,
            url: leak.url,
            reporter: leak.reporter,
            action: leak.action,
          },
          `leaked key ${key.display} ${leak.action === 'revoked' ? 'revoked' : 'reported (project policy: do not revoke)'}`,
        );
      },
    }),
    githubKeyring: new GithubKeyring({
      clock,
      file: config.githubKeys.file,
      url: config.githubKeys.url,
    }),
    usage,
    usageReports: new UsageService({ usage: store.usage, clock }),
    lastUsed,
    creditsWriteBack,
    upstreams,
    upstreamHosts,
    gateway: new Gateway({
      verifier,
      limiter,
      registry,
      prices,
      usage,
      store,
      clock,
      logger: options.logger,
      bodyLimitBytes: config.gateway.bodyLimitBytes,
      defaultMaxOutputTokens: config.gateway.defaultMaxOutputTokens,
    }),
    prices,
    async close() {
      clearTimeout(filterRetry);
      // Flush what is buffered before the store goes: no usage event or balance is lost.
      await usage.close();
      await creditsWriteBack.close();
      await limiter.close();
      await lastUsed.close();
      await registry.close();
      await invalidation.close();
      await store.close();
    },
  };
}
