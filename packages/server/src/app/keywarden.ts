import { join } from 'node:path';
import { KeyCache } from '../cache/index.ts';
import { type Clock, systemClock } from '../clock/index.ts';
import type { Config } from '../config/index.ts';
import { type InvalidationChannel, LocalInvalidationChannel } from '../invalidation/index.ts';
import { KeyService } from '../keys/index.ts';
import type { Logger } from '../log/index.ts';
import { ProjectService } from '../projects/index.ts';
import { KeyHasher, loadSecrets, type ServerSecrets } from '../secrets/index.ts';
import { openSqliteStore, type Store } from '../store/index.ts';
import { LastUsedRecorder, Verifier } from '../verify/index.ts';

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
  invalidation: InvalidationChannel;
  verifier: Verifier;
  keys: KeyService;
  projects: ProjectService;
  lastUsed: LastUsedRecorder;
  close(): Promise<void>;
}

export interface OpenOptions {
  clock?: Clock;
  logger?: Logger;
  env?: NodeJS.ProcessEnv;
  /** For tests: how often last-used times are written (0 = only on flush/close). */
  lastUsedIntervalMs?: number;
}

export async function openStore(config: Config): Promise<Store> {
  if (config.databaseUrl) {
    if (/^postgres(ql)?:\/\//.test(config.databaseUrl)) {
      throw new Error(
        'PostgreSQL support is not available in this build yet (see docs/deployment.md)',
      );
    }
    throw new Error('KEYWARDEN_DATABASE_URL must be a postgres:// URL');
  }
  return openSqliteStore(join(config.dataDir, 'keywarden.db'));
}

export async function openKeywarden(config: Config, options: OpenOptions = {}): Promise<Keywarden> {
  const clock = options.clock ?? systemClock;
  const secrets = loadSecrets({
    env: options.env ?? process.env,
    dataDir: config.databaseUrl ? undefined : config.dataDir,
  });
  const store = await openStore(config);
  const hasher = new KeyHasher(secrets);
  const cache = new KeyCache({
    clock,
    maxAgeMs: config.cacheMaxAgeMs,
    negativeTtlMs: config.negativeCacheTtlMs,
  });
  const invalidation: InvalidationChannel = new LocalInvalidationChannel();
  invalidation.subscribe((message) => {
    if (message.type === 'key') cache.invalidateKey(message.keyId);
    else if (message.type === 'key-created') cache.forgetMissing(message.hash);
    else cache.invalidateProject(message.projectId);
  });
  const lastUsed = new LastUsedRecorder(store.keys, {
    intervalMs: options.lastUsedIntervalMs ?? 1000,
    onError: (error) => options.logger?.error({ err: error }, 'writing last-used times failed'),
  });
  const verifier = new Verifier({ store, hasher, cache, clock, lastUsed });
  return {
    config,
    clock,
    store,
    secrets,
    hasher,
    cache,
    invalidation,
    verifier,
    keys: new KeyService({ store, hasher, clock, invalidation }),
    projects: new ProjectService({ store, clock, invalidation }),
    lastUsed,
    async close() {
      await lastUsed.close();
      await invalidation.close();
      await store.close();
    },
  };
}
