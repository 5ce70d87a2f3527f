import { openKeywarden } from '../app/index.ts';
import { CLI_ACTOR } from '../audit/index.ts';
import { loadConfig } from '../config/index.ts';
import { type ClusterNode, clusterSecrets, startNode, startNodes } from './cluster.ts';
import { createTestDatabase, type TestDatabase } from './postgres.ts';
import { type RedisNamespace, redisNamespace } from './redis.ts';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts';

/**
 * Keywarden processes on one PostgreSQL and one Redis, each node reaching each service through
 * a TCP proxy of its own, so that a test can cut, silence or slow one node's links (a
 * partition) or every node's (an outage).
 */
export interface FaultNode extends ClusterNode {
  pg: TcpProxy;
  redis: TcpProxy;
}

export interface FaultCluster {
  nodes: FaultNode[];
  adminKey: string;
  close(): Promise<void>;
}

export async function startFaultCluster(
  names: string[],
  extraEnv: Record<string, string> = {},
): Promise<FaultCluster> {
  const db: TestDatabase = await createTestDatabase();
  const ns: RedisNamespace = await redisNamespace('faults');
  const secrets = clusterSecrets();
  const envFor = (pgPort: number, redisPort: number) => {
    const databaseUrl = new URL(db.url);
    databaseUrl.port = String(pgPort);
    return {
      ...secrets,
      KEYWARDEN_DATABASE_URL: databaseUrl.toString(),
      KEYWARDEN_REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      KEYWARDEN_REDIS_PREFIX: ns.prefix,
      KEYWARDEN_EXPECTED_NODES: String(names.length),
      ...extraEnv,
    };
  };
  const direct = envFor(Number(new URL(db.url).port || 5432), Number(new URL(ns.url).port || 6379));
  const setup = await openKeywarden(loadConfig(direct), { env: direct });
  const adminKey = (
    await setup.keys.create({ name: 'fault admin', scopes: ['admin'] }, CLI_ACTOR, 'management')
  ).plaintext;
  await setup.close();

  const proxies: TcpProxy[] = [];
  const nodes = await startNodes(
    names.map((name) => async () => {
      const pg = await startTcpProxy(new URL(db.url));
      const redis = await startTcpProxy(new URL(ns.url));
      proxies.push(pg, redis);
      const node = await startNode(name, envFor(pg.port, redis.port));
      return Object.assign(node, { pg, redis });
    }),
  ).catch(async (error: unknown) => {
    await Promise.all(proxies.map((p) => p.close()));
    await ns.cleanup();
    await db.drop();
    throw error;
  });
  return {
    nodes,
    adminKey,
    async close() {
      await Promise.all(nodes.map((n) => n.stop('SIGKILL')));
      await Promise.all(proxies.map((p) => p.close()));
      await ns.cleanup();
      await db.drop();
    },
  };
}
