import { rmSync } from 'node:fs';
import { basename } from 'node:path';
import { type RunningServer, startServer } from '../../packages/server/src/app/server.ts';
import { CLI_ACTOR } from '../../packages/server/src/audit/index.ts';
import { loadConfig } from '../../packages/server/src/config/index.ts';
import { createLogger } from '../../packages/server/src/log/index.ts';
import { announceReady, exitWith } from './lifecycle.ts';

/**
 * A keywarden server for the HTTP benchmarks, in its own process: the same `startServer` that
 * `keywarden start` runs, on a throwaway data directory (argv[2], created and removed by the
 * orchestrator), with one API key created directly on the store (and, with
 * `--management-key`, the bootstrap management key). Plaintext keys go to the orchestrator on
 * the ready line (a pipe, never a file or a log), so the load generator can present them.
 *
 * The environment passed to keywarden is empty on purpose: a KEYWARDEN_* variable in the
 * user's shell (a pepper, a database URL, trusted proxies) must not change what is measured.
 */
const dataDir = process.argv[2];
if (!dataDir) throw new Error('usage: keywarden.ts <data dir> [--management-key]');
// The gateway bench configures upstreams and keys through the management API, as an operator
// would; it asks for a management key (admin scope), which also goes out on the ready line.
const withManagementKey = process.argv.includes('--management-key');

// Installed before startup, so that a stop during startup still closes and cleans up.
let server: RunningServer | undefined;
exitWith(async () => {
  await server?.close();
  // The orchestrator removes the directory too; this covers an orchestrator killed with
  // SIGKILL. Only a directory the bench created (by its name) is ever removed here.
  if (basename(dataDir).startsWith('keywarden-bench-')) {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

// The gateway scenario's mock upstream listens on 127.0.0.1: loopback upstreams are allowed.
const env: NodeJS.ProcessEnv = { KEYWARDEN_UPSTREAM_ALLOW_LOOPBACK: 'true' };
const config = loadConfig(env, { host: '127.0.0.1', port: 0, dataDir, logLevel: 'warn' });
server = await startServer(config, {
  env,
  bootstrap: withManagementKey,
  logger: createLogger({ level: 'warn' }),
});
const { record, plaintext } = await server.kw.keys.create(
  { name: 'bench', scopes: ['billing:read'], env: 'prod' },
  CLI_ACTOR,
);
announceReady({
  url: server.url,
  key: plaintext,
  keyId: record.id,
  ...(server.bootstrapKey ? { managementKey: server.bootstrapKey } : {}),
});
