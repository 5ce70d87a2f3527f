import type { Command } from 'commander';
import { CliError, type ClientOptions, callApi } from '../client.ts';
import { output, printRecord, printTable, printWarnings } from '../output.ts';
import { collect, parseBudget, parseLimit, parseRefill } from '../parse.ts';
import { withClientOptions } from './keys.ts';

type Common = ClientOptions & { json?: boolean };
type OwnerJson = Record<string, unknown> & { id: string };

export function registerOwners(program: Command): void {
  const owners = program
    .command('owners')
    .description("owners' shared rate limits, credits and budgets (calls the management API)");

  withClientOptions(
    owners.command('set <id>').description("set an owner's shared limits, credits and/or budgets"),
  )
    .option(
      '--limit <rule...>',
      'rate limits, e.g. requests=1000/60 burst=20/1 tpm=1000000/60/tokens ("none" to clear)',
    )
    .option('--credits <n>', 'credit balance')
    .option('--refill <amount/interval[/mode]>', 'credit refill, e.g. 1000/86400/reset')
    .option(
      '--budget <name=amount/period>',
      'gateway money budget, repeatable, e.g. monthly=500.00/month ("none" to clear)',
      collect,
    )
    .action(
      async (
        id: string,
        o: Common & { limit?: string[]; credits?: string; refill?: string; budget?: string[] },
      ) => {
        const body: Record<string, unknown> = {};
        if (o.limit)
          body.ratelimits =
            o.limit.length === 1 && o.limit[0] === 'none' ? [] : o.limit.map(parseLimit);
        if (o.budget)
          body.budgets =
            o.budget.length === 1 && o.budget[0] === 'none' ? null : o.budget.map(parseBudget);
        if (o.credits !== undefined)
          body.credits = {
            remaining: Number(o.credits),
            refill: o.refill ? parseRefill(o.refill) : null,
          };
        if (Object.keys(body).length === 0)
          throw new CliError('nothing to set: pass --limit, --credits and/or --budget', 2);
        const owner = await callApi<OwnerJson>(
          o,
          'PUT',
          `/v1/owners/${encodeURIComponent(id)}`,
          body,
        );
        printWarnings(owner);
        output(owner, o, () => printRecord(owner));
      },
    );

  withClientOptions(owners.command('show <id>').description('show an owner')).action(
    async (id: string, o: Common) => {
      const owner = await callApi<OwnerJson>(o, 'GET', `/v1/owners/${encodeURIComponent(id)}`);
      output(owner, o, () => printRecord(owner));
    },
  );

  withClientOptions(
    owners.command('list').description('owners with shared limits or credits'),
  ).action(async (o: Common) => {
    const page = await callApi<{ data: OwnerJson[] }>(o, 'GET', '/v1/owners?limit=100');
    output(page, o, () =>
      printTable(page.data, ['id', 'ratelimits', 'credits', 'budgets', 'updatedAt']),
    );
  });

  withClientOptions(
    owners.command('delete <id>').description("remove an owner's shared limits and credits"),
  ).action(async (id: string, o: Common) => {
    await callApi(o, 'DELETE', `/v1/owners/${encodeURIComponent(id)}`);
    output({ id, deleted: true }, o, () => process.stdout.write(`${id} deleted\n`));
  });
}
