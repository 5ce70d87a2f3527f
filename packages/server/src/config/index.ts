import { resolve } from 'node:path';

/**
 * The one config loader: environment variables, overridden by CLI flags. Every setting a
 * user can change is here, with its default and its variable (docs/configuration.md).
 */
export interface Config {
  host: string;
  port: number;
  dataDir: string;
  /** `postgres://…` selects PostgreSQL; otherwise SQLite in the data directory. */
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
  /** Prefix of every Redis key and channel: several deployments can share one Redis. */
  redisPrefix: string;
  /** Peers whose X-Forwarded-For is believed: CIDRs, or `loopback`, `private`; empty = none. */
  trustedProxies: string[];
  bodyLimitBytes: number;
  /** Serve /metrics without a management key (for scrapers on a private network). */
  metricsPublic: boolean;
  /** GitHub secret-scanning public keys: a file (GitHub's format), and/or the URL to fetch them from (null: never). */
  githubKeys: { file: string | undefined; url: string | null };
  logLevel: string;
  /** Upper bound on how long a node serves a cached key without re-reading it. */
  cacheMaxAgeMs: number;
  negativeCacheTtlMs: number;
  /**
   * Keys the cache does not hold and the key filter does not know: store lookups allowed per
   * client network (/24, /48) — a burst of `limit`, refilled at `limit / windowSeconds`.
   * `enabled: env.KEYWARDEN_UNKNOWN_KEY_GUARD !== 'off'` looks every such key up (no filter, no budget).
   */
  unknownKeys: { enabled: boolean; limit: number; windowSeconds: number };
  /** When the store fails, how long a cached key may still be served past its age. */
  staleIfErrorMs: number;
  /**
   * The longest a node serves a changed (revoked) key once it cannot hear invalidations:
   * stale-if-error never reaches past it for such a node, which then answers 503.
   */
  revocationBoundMs: number;
  /** What rate limiting does when Redis fails: per-node share, admit, or refuse. */
  limiterFailureMode: 'local' | 'open' | 'closed';
  /** Nodes behind the load balancer: the per-node share of a limit when Redis is down. */
  expectedNodes: number;
  /** How long a rate-limit call waits for Redis before the failure policy applies. */
  limiterRedisTimeoutMs: number;
  /**
   * On SIGTERM, how long requests in flight may take to finish before every connection still
   * open (a stuck or half-sent one included) is closed; buffered usage is written after it.
   */
  shutdownTimeoutMs: number;
  /** Forward-auth defaults when neither the route nor the edge says what is needed. */
  forwardAuth: {
    scopes: string[];
    env: string | undefined;
    /** Accept `X-Keywarden-Cost` up to this on every route (undefined: the header is ignored). */
    maxCost: number | undefined;
  };
  gateway: {
    /** Largest request body the gateway reads to inspect (JSON); larger ones are refused. */
    bodyLimitBytes: number;
    /** A JSON price table (model → { input, output } per 1M tokens) over the built-in one. */
    pricesFile: string | undefined;
    /** Output tokens reserved for a request that sets no max_tokens, for budgets and TPM. */
    defaultMaxOutputTokens: number;
    /** Upstreams on loopback (a model server on this machine) are refused unless this is set. */
    allowLoopbackUpstreams: boolean;
  };
}

export type ConfigOverrides = Partial<Pick<Config, 'host' | 'port' | 'dataDir' | 'logLevel'>>;

function integer(name: string, value: string | undefined, fallback: number, min = 0): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`${name} must be an integer ≥ ${min}`);
  return n;
}

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

function boolean(name: string, value: string | undefined): boolean {
  if (value === undefined || value === '' || value === 'false') return false;
  if (value === 'true') return true;
  throw new Error(`${name} must be true or false`);
}

function failureMode(value: string | undefined): Config['limiterFailureMode'] {
  if (value === undefined || value === '') return 'local';
  if (value === 'local' || value === 'open' || value === 'closed') return value;
  throw new Error('KEYWARDEN_RATELIMIT_FAILURE_MODE must be local, open or closed');
}

export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  overrides: ConfigOverrides = {},
): Config {
  const port = overrides.port ?? integer('KEYWARDEN_PORT', env.KEYWARDEN_PORT, 8787);
  if (port > 65535) throw new Error('KEYWARDEN_PORT must be at most 65535');
  return {
    host: overrides.host ?? env.KEYWARDEN_HOST ?? '127.0.0.1',
    port,
    dataDir: resolve(overrides.dataDir ?? env.KEYWARDEN_DATA_DIR ?? '.keywarden'),
    databaseUrl: env.KEYWARDEN_DATABASE_URL || undefined,
    redisUrl: env.KEYWARDEN_REDIS_URL || undefined,
    redisPrefix: env.KEYWARDEN_REDIS_PREFIX || 'kw:',
    trustedProxies: list(env.KEYWARDEN_TRUSTED_PROXIES),
    bodyLimitBytes: integer('KEYWARDEN_BODY_LIMIT', env.KEYWARDEN_BODY_LIMIT, 64 * 1024, 1024),
    metricsPublic: env.KEYWARDEN_METRICS_PUBLIC === 'true',
    githubKeys: {
      file: env.KEYWARDEN_GITHUB_KEYS_FILE || undefined,
      url:
        env.KEYWARDEN_GITHUB_KEYS_URL === 'off'
          ? null
          : env.KEYWARDEN_GITHUB_KEYS_URL ||
            'https://api.github.com/meta/public_keys/secret_scanning',
    },
    logLevel: overrides.logLevel ?? env.KEYWARDEN_LOG_LEVEL ?? 'info',
    cacheMaxAgeMs: integer('KEYWARDEN_CACHE_MAX_AGE_MS', env.KEYWARDEN_CACHE_MAX_AGE_MS, 30_000),
    negativeCacheTtlMs: integer(
      'KEYWARDEN_NEGATIVE_CACHE_TTL_MS',
      env.KEYWARDEN_NEGATIVE_CACHE_TTL_MS,
      60_000,
    ),
    unknownKeys: {
      enabled: env.KEYWARDEN_UNKNOWN_KEY_GUARD !== 'off',
      limit: integer('KEYWARDEN_UNKNOWN_KEY_LIMIT', env.KEYWARDEN_UNKNOWN_KEY_LIMIT, 20, 1),
      windowSeconds: integer(
        'KEYWARDEN_UNKNOWN_KEY_WINDOW_SECONDS',
        env.KEYWARDEN_UNKNOWN_KEY_WINDOW_SECONDS,
        4,
        1,
      ),
    },
    staleIfErrorMs: integer(
      'KEYWARDEN_STALE_IF_ERROR_MS',
      env.KEYWARDEN_STALE_IF_ERROR_MS,
      300_000,
    ),
    revocationBoundMs: integer(
      'KEYWARDEN_REVOCATION_BOUND_MS',
      env.KEYWARDEN_REVOCATION_BOUND_MS,
      30_000,
      1,
    ),
    limiterFailureMode: failureMode(env.KEYWARDEN_RATELIMIT_FAILURE_MODE),
    expectedNodes: integer('KEYWARDEN_EXPECTED_NODES', env.KEYWARDEN_EXPECTED_NODES, 1, 1),
    limiterRedisTimeoutMs: integer(
      'KEYWARDEN_RATELIMIT_REDIS_TIMEOUT_MS',
      env.KEYWARDEN_RATELIMIT_REDIS_TIMEOUT_MS,
      1000,
      1,
    ),
    shutdownTimeoutMs: integer(
      'KEYWARDEN_SHUTDOWN_TIMEOUT_MS',
      env.KEYWARDEN_SHUTDOWN_TIMEOUT_MS,
      10_000,
    ),
    forwardAuth: {
      scopes: list(env.KEYWARDEN_AUTH_SCOPES),
      env: env.KEYWARDEN_AUTH_ENV || undefined,
      maxCost: env.KEYWARDEN_AUTH_MAX_COST
        ? integer('KEYWARDEN_AUTH_MAX_COST', env.KEYWARDEN_AUTH_MAX_COST, 0)
        : undefined,
    },
    gateway: {
      bodyLimitBytes: integer(
        'KEYWARDEN_GATEWAY_BODY_LIMIT',
        env.KEYWARDEN_GATEWAY_BODY_LIMIT,
        32 * 1024 * 1024,
        1024,
      ),
      pricesFile: env.KEYWARDEN_PRICES_FILE || undefined,
      defaultMaxOutputTokens: integer(
        'KEYWARDEN_GATEWAY_DEFAULT_OUTPUT_TOKENS',
        env.KEYWARDEN_GATEWAY_DEFAULT_OUTPUT_TOKENS,
        4096,
        1,
      ),
      allowLoopbackUpstreams: boolean(
        'KEYWARDEN_UPSTREAM_ALLOW_LOOPBACK',
        env.KEYWARDEN_UPSTREAM_ALLOW_LOOPBACK,
      ),
    },
  };
}
