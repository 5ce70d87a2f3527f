import type { Command } from 'commander';
import { startServer } from '../../app/server.ts';
import { loadConfig } from '../../config/index.ts';
import { boxed } from '../output.ts';

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('run the keywarden server (SQLite in the data directory by default)')
    .option('--port <port>', 'port to listen on (KEYWARDEN_PORT, default 8787)', Number)
    .option('--host <host>', 'address to bind (KEYWARDEN_HOST, default 127.0.0.1)')
    .option('--data <dir>', 'data directory (KEYWARDEN_DATA_DIR, default ./.keywarden)')
    .action(async (options: { port?: number; host?: string; data?: string }) => {
      const config = loadConfig(process.env, {
        port: options.port,
        host: options.host,
        dataDir: options.data,
      });
      const server = await startServer(config);
      if (server.bootstrapKey) {
        process.stderr.write(
          `\n${boxed([
            'A management key with the `admin` scope was created for this new store.',
            'It is shown ONCE and never again. Store it in a secret manager now,',
            'then use it as KEYWARDEN_ADMIN_KEY for the CLI and the management API.',
          ])}\n\n`,
        );
        process.stdout.write(`${server.bootstrapKey}\n\n`);
      }
      server.logger.info(
        { url: server.url, store: server.kw.store.backend, dataDir: config.dataDir },
        'keywarden listening',
      );
      for (const signal of ['SIGINT', 'SIGTERM'] as const) {
        process.once(signal, () => {
          server.logger.info({ signal }, 'shutting down');
          void server.close().then(() => process.exit(0));
        });
      }
    });
}
