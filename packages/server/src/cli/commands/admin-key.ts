import type { Command } from 'commander';
import { openKeywarden } from '../../app/index.ts';
import { CLI_ACTOR } from '../../audit/index.ts';
import { loadConfig } from '../../config/index.ts';
import { keyToJson } from '../../http/serialize.ts';
import { output, printJson, printNewKey, printTable } from '../output.ts';

/** Works on the store directly, so it can let an operator in when no management key is at hand. */
export function registerAdminKey(program: Command): void {
  const adminKey = program
    .command('admin-key')
    .description('management keys (works on the store directly)');
  adminKey
    .command('create')
    .description('create a management key and print it once')
    .requiredOption('--name <name>', 'what the key is for')
    .option('--scopes <scopes...>', 'management scopes, e.g. keys:read keys:write (default: admin)')
    .option('--data <dir>', 'data directory (KEYWARDEN_DATA_DIR)')
    .option('--json', 'machine-readable output')
    .action(async (options: { name: string; scopes?: string[]; data?: string; json?: boolean }) => {
      const kw = await openKeywarden(loadConfig(process.env, { dataDir: options.data }));
      try {
        const scopes = (options.scopes ?? ['admin']).flatMap((s) => s.split(',')).filter(Boolean);
        const created = await kw.keys.create(
          { name: options.name, scopes },
          CLI_ACTOR,
          'management',
        );
        if (options.json) printJson({ ...keyToJson(created.record), key: created.plaintext });
        else
          printNewKey(
            created.plaintext,
            `Management key ${created.record.id} (${scopes.join(' ')})`,
          );
      } finally {
        await kw.close();
      }
    });

  adminKey
    .command('list')
    .description('list management keys (never their plaintext)')
    .option('--data <dir>', 'data directory (KEYWARDEN_DATA_DIR)')
    .option('--json', 'machine-readable output')
    .action(async (options: { data?: string; json?: boolean }) => {
      const kw = await openKeywarden(loadConfig(process.env, { dataDir: options.data }));
      try {
        const keys = (await kw.store.keys.list({ kind: 'management', limit: 1000 })).map(keyToJson);
        output({ data: keys }, options, () =>
          printTable(keys, ['id', 'name', 'display', 'scopes', 'status', 'lastUsedAt']),
        );
      } finally {
        await kw.close();
      }
    });

  adminKey
    .command('revoke <id>')
    .description('revoke a management key at once (for example one found leaked)')
    .option('--data <dir>', 'data directory (KEYWARDEN_DATA_DIR)')
    .option('--reason <text>', 'why (audited)')
    .option('--json', 'machine-readable output')
    .action(async (id: string, options: { data?: string; reason?: string; json?: boolean }) => {
      const kw = await openKeywarden(loadConfig(process.env, { dataDir: options.data }));
      try {
        const key = keyToJson(await kw.keys.revoke(id, CLI_ACTOR, options.reason, 'management'));
        output(key, options, () => process.stdout.write(`${key.id} is now ${key.status}\n`));
      } finally {
        await kw.close();
      }
    });
}
