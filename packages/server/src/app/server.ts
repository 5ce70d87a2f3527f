import type { FastifyInstance } from 'fastify';
import { CLI_ACTOR } from '../audit/index.ts';
import type { Config } from '../config/index.ts';
import { buildHttpApp } from '../http/index.ts';
import { createLogger, type Logger } from '../log/index.ts';
import { drainHttpServer } from './http-drain.ts';
import { type Keywarden, type OpenOptions, openKeywarden } from './keywarden.ts';

export interface RunningServer {
  kw: Keywarden;
  app: FastifyInstance;
  logger: Logger;
  url: string;
  /** The first management key, when this start created it (empty store). */
  bootstrapKey: string | null;
  /**
   * Stops listening, gives requests in flight `config.shutdownTimeoutMs` to finish, closes
   * every connection still open (stuck ones included), then writes buffered usage and closes
   * the store.
   */
  close(): Promise<void>;
}

/**
 * On a store with no management key, create one so that the operator can get in. Its
 * plaintext is returned to the caller, which prints it once; it is never logged.
 */
export async function ensureManagementKey(kw: Keywarden): Promise<string | null> {
  const existing = await kw.store.keys.list({ kind: 'management', limit: 1 });
  if (existing.length > 0) return null;
  const { plaintext } = await kw.keys.create(
    { name: 'bootstrap', scopes: ['admin'] },
    { ...CLI_ACTOR, display: 'keywarden start (bootstrap)' },
    'management',
  );
  return plaintext;
}

export async function startServer(
  config: Config,
  options: OpenOptions & { logger?: Logger; bootstrap?: boolean } = {},
): Promise<RunningServer> {
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const kw = await openKeywarden(config, { ...options, logger });
  const bootstrapKey = options.bootstrap === false ? null : await ensureManagementKey(kw);
  const app = await buildHttpApp(kw, logger);
  await app.listen({ host: config.host, port: config.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  let closing: Promise<void> | undefined;
  return {
    kw,
    app,
    logger,
    url: `http://${host}:${port}`,
    bootstrapKey,
    close() {
      closing ??= (async () => {
        await drainHttpServer(app.server, () => app.close(), config.shutdownTimeoutMs, logger);
        await kw.close();
      })();
      return closing;
    },
  };
}
