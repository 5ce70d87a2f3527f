import type { Command } from 'commander';
import { openKeywarden } from '../../app/index.ts';
import { loadConfig } from '../../config/index.ts';
import { type ChainBreak, GENESIS_HASH, verifyAuditPage } from '../../store/index.ts';
import { CliError, type ClientOptions, callApi } from '../client.ts';
import { output, printTable } from '../output.ts';
import { withClientOptions } from './keys.ts';

type Common = ClientOptions & { json?: boolean };

export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('the audit log');

  withClientOptions(audit.command('list').description('recent management actions, newest first'))
    .option('--action <action>', 'e.g. key.revoke')
    .option('--target <id>', 'key or project id')
    .option('--actor <id>', 'management key id')
    .option('--limit <n>', 'how many', '50')
    .action(
      async (o: Common & { action?: string; target?: string; actor?: string; limit: string }) => {
        const query = new URLSearchParams({ limit: o.limit });
        if (o.action) query.set('action', o.action);
        if (o.target) query.set('targetId', o.target);
        if (o.actor) query.set('actorId', o.actor);
        const page = await callApi<{ data: Array<Record<string, unknown>> }>(
          o,
          'GET',
          `/v1/audit?${query}`,
        );
        output(page, o, () =>
          printTable(page.data, [
            'seq',
            'at',
            'action',
            'targetId',
            'actorDisplay',
            'ip',
            'result',
          ]),
        );
      },
    );

  audit
    .command('verify')
    .description(
      'check the audit hash chain for edited, deleted or reordered entries (works on the store)',
    )
    .option('--data <dir>', 'data directory (KEYWARDEN_DATA_DIR)')
    .option('--json', 'machine-readable output')
    .action(async (o: { data?: string; json?: boolean }) => {
      const kw = await openKeywarden(loadConfig(process.env, { dataDir: o.data }));
      try {
        let last = { seq: 0, hash: GENESIS_HASH };
        const breaks: ChainBreak[] = [];
        for (;;) {
          const page = await kw.store.audit.scan(last.seq, 1000);
          if (page.length === 0) break;
          const checked = verifyAuditPage(page, last);
          breaks.push(...checked.breaks);
          last = checked.last;
        }
        const result = { ok: breaks.length === 0, entries: last.seq, breaks };
        output(result, o, () =>
          process.stdout.write(
            result.ok
              ? `audit chain intact: ${result.entries} entries\n`
              : `audit chain BROKEN at ${breaks.map((b) => `#${b.seq} (${b.reason})`).join(', ')}\n`,
          ),
        );
        if (!result.ok) throw new CliError('audit chain broken', 1);
      } finally {
        await kw.close();
      }
    });
}
