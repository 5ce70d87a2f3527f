import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { type Keywarden, openKeywarden } from '../app/index.ts';
import { CLI_ACTOR } from '../audit/index.ts';
import type { Clock } from '../clock/index.ts';
import { type Config, loadConfig } from '../config/index.ts';
import { buildHttpApp } from '../http/index.ts';
import type { CreateKeyInput } from '../keys/index.ts';
import { createLogger } from '../log/index.ts';
import type { UpstreamNetwork } from '../upstreams/index.ts';
import { testUpstreamNetwork } from './upstream-network.ts';

/**
 * A keywarden node for tests: a fresh data directory, an admin management key, the HTTP app
 * driven with `inject`, and every log line kept in memory so tests can search it for secrets.
 */
export interface TestNode {
  kw: Keywarden;
  app: FastifyInstance;
  config: Config;
  dataDir: string;
  adminKey: string;
  logs: string[];
  request(options: InjectOptions & { key?: string | null }): Promise<LightMyRequestResponse>;
  createKey(input?: Partial<CreateKeyInput>): Promise<{ id: string; key: string }>;
  managementKey(scopes: string[]): Promise<string>;
  close(): Promise<void>;
}

export async function startTestNode(
  options: {
    clock?: Clock;
    env?: NodeJS.ProcessEnv;
    configure?: (config: Config) => void;
    /** Default: names resolve to a documentation address and only loopback is dialled. */
    upstreamNetwork?: UpstreamNetwork;
  } = {},
): Promise<TestNode> {
  const dataDir = mkdtempSync(join(tmpdir(), 'kw-test-'));
  // Tests run their mock upstreams on 127.0.0.1: allowed here unless a test says otherwise.
  const env = { KEYWARDEN_UPSTREAM_ALLOW_LOOPBACK: 'true', ...(options.env ?? {}) };
  const config = loadConfig(env, { dataDir, port: 0, logLevel: 'debug' });
  options.configure?.(config);
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const logger = createLogger({ level: 'debug', destination });
  const kw = await openKeywarden(config, {
    clock: options.clock,
    env,
    logger,
    lastUsedIntervalMs: 0,
    upstreamNetwork: options.upstreamNetwork ?? testUpstreamNetwork(),
  });
  const app = await buildHttpApp(kw, logger);
  const admin = await kw.keys.create(
    { name: 'test admin', scopes: ['admin'] },
    CLI_ACTOR,
    'management',
  );

  const node: TestNode = {
    kw,
    app,
    config,
    dataDir,
    adminKey: admin.plaintext,
    logs,
    request({ key, headers, ...rest }) {
      const auth = key === null ? {} : { authorization: `Bearer ${key ?? admin.plaintext}` };
      return app.inject({ ...rest, headers: { ...auth, ...headers } });
    },
    async createKey(input = {}) {
      const res = await node.request({
        method: 'POST',
        url: '/v1/keys',
        payload: { name: 'k', ...input },
      });
      if (res.statusCode !== 201) throw new Error(`create failed: ${res.statusCode} ${res.body}`);
      const body = res.json() as { id: string; key: string };
      return { id: body.id, key: body.key };
    },
    async managementKey(scopes) {
      const created = await kw.keys.create(
        { name: `mgmt ${scopes.join(' ')}`, scopes },
        CLI_ACTOR,
        'management',
      );
      return created.plaintext;
    },
    async close() {
      await app.close();
      await kw.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return node;
}
