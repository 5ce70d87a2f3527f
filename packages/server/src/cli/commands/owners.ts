import type { Command } from 'commander';
import { CliError, type ClientOptions, callApi } from '../client.ts';
import { output, printRecord, printTable } from '../output.ts';
import { withClientOptions } from './keys.ts';

type Common = ClientOptions & { json?: boolean };
type OwnerJson = Record<string, unknown> & { id: string };

/** `requests=100/60` → { name: 'requests', limit: 100, windowSeconds: 60 } */
export function parseLimit(text: string) {
  const match = /^([a-z0-9][a-z0-9_-]{0,31})=(\d+)\/(\d+)s?$/.exec(text);
  if (!match)
    throw new CliError(`--limit ${text}: write name=LIMIT/WINDOW_SECONDS, e.g. requests=100/60`, 2);
  return { name: match[1]!, limit: Number(match[2]), windowSeconds: Number(match[3]) };
}

/** `1000/86400/reset` → { amount: 1000, intervalSeconds: 86400, mode: 'reset' } */
export function parseRefill(text: string) {
  const match = /^(\d+)\/(\d+)(?:\/(add|reset))?$/.exec(text);
  if (!match) throw new CliError(`--refill ${text}: write AMOUNT/INTERVAL_SECONDS[/add|reset]`, 2);
  return {
    amount: Number(match[1]),
    intervalSeconds: Number(match[2]),
    mode: (match[3] ?? 'reset') as 'add' | 'reset',
  };
}

export function registerOwners(program: Command): void {
  const owners = program
    .command('owners')
    .description("owners' shared rate limits and credits (calls the management API)");

  withClientOptions(
    owners.command('set <id>').description("set an owner's shared limits and/or credits"),
  )
    .option(
      '--limit <name=limit/window...>',
      'rate limits, e.g. requests=1000/60 burst=20/1 ("none" to clear)',
    )
    .option('--credits <n>', 'credit balance')
    .option('--refill <amount/interval[/mode]>', 'credit refill, e.g. 1000/86400/reset')
    .action(
      async (id: string, o: Common & { limit?: string[]; credits?: string; refill?: string }) => {
        const body: Record<string, unknown> = {};
        if (o.limit)
          body.ratelimits =
            o.limit.length === 1 && o.limit[0] === 'none' ? [] : o.limit.map(parseLimit);
        if (o.credits !== undefined)
          body.credits = {
            remaining: Number(o.credits),
            refill: o.refill ? parseRefill(o.refill) : null,
          };
        if (Object.keys(body).length === 0)
          throw new CliError('nothing to set: pass --limit and/or --credits', 2);
        const owner = await callApi<OwnerJson>(
          o,
          'PUT',
          `/v1/owners/${encodeURIComponent(id)}`,
          body,
        );
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
    output(page, o, () => printTable(page.data, ['id', 'ratelimits', 'credits', 'updatedAt']));
  });

  withClientOptions(
    owners.command('delete <id>').description("remove an owner's shared limits and credits"),
  ).action(async (id: string, o: Common) => {
    await callApi(o, 'DELETE', `/v1/owners/${encodeURIComponent(id)}`);
    output({ id, deleted: true }, o, () => process.stdout.write(`${id} deleted\n`));
  });
}
