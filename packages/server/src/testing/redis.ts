import { randomUUID } from 'node:crypto';
import { createClient } from 'redis';

/**
 * Redis for tests: every test file gets its own key prefix on the shared server, so files
 * running in parallel (and other engineers' runs) never see each other's keys, and
 * `cleanup()` deletes exactly that prefix. Tests that need Redis must run, not skip: when the
 * server is unreachable, `redisNamespace` rejects with a message that says how to start it.
 *
 * The server is `KEYWARDEN_TEST_REDIS_URL`, else `redis://127.0.0.1:6379`.
 */
export const TEST_REDIS_URL = process.env.KEYWARDEN_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export type TestRedisClient = ReturnType<typeof createClient>;

export interface RedisNamespace {
  url: string;
  /** `kwtest:<label>:<random>:` — pass it as the key prefix of whatever is under test. */
  prefix: string;
  /** A plain client for inspecting and seeding keys. */
  client: TestRedisClient;
  /** Every key under the prefix, sorted. */
  keys(): Promise<string[]>;
  /** Deletes every key under the prefix and closes the client. */
  cleanup(): Promise<void>;
}

const START_HINT =
  'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no ' +
  '--dir /var/lib/redis --logfile /var/log/redis/ci.log';

export async function redisNamespace(label: string): Promise<RedisNamespace> {
  const client = createClient({
    url: TEST_REDIS_URL,
    disableOfflineQueue: true,
    socket: { connectTimeout: 2000, reconnectStrategy: false },
  }) as TestRedisClient;
  let failure: unknown = null;
  client.on('error', (error: unknown) => {
    failure ??= error;
  });
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    if (client.isOpen) client.destroy();
    const reason = error instanceof Error ? error.message : String(failure ?? error);
    throw new Error(
      `These tests need Redis at ${TEST_REDIS_URL} and could not reach it (${reason}). ` +
        `Start it with: ${START_HINT} (or set KEYWARDEN_TEST_REDIS_URL).`,
      { cause: error },
    );
  }
  const prefix = `kwtest:${label.replace(/[^A-Za-z0-9_-]/g, '_')}:${randomUUID().slice(0, 8)}:`;
  // The prefix is [A-Za-z0-9_:-] only, so it is a literal in a SCAN MATCH pattern.
  const scan = async (): Promise<string[]> => {
    const found: string[] = [];
    for await (const batch of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
      found.push(...batch);
    }
    return found;
  };
  return {
    url: TEST_REDIS_URL,
    prefix,
    client,
    keys: async () => (await scan()).sort(),
    async cleanup() {
      if (!client.isOpen) return;
      const keys = await scan();
      for (let i = 0; i < keys.length; i += 500) await client.unlink(keys.slice(i, i + 500));
      await client.close();
    },
  };
}
