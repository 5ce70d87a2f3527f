import { type Command, Option } from 'commander';
import { CliError, type ClientOptions, callApi, confirm } from '../client.ts';
import {
  output,
  printJson,
  printNewKey,
  printRecord,
  printTable,
  printWarnings,
} from '../output.ts';
import { collect, parseBudget, parseLimit } from '../parse.ts';

type Common = ClientOptions & { json?: boolean };
type KeyJson = Record<string, unknown> & { id: string; key?: string };

/** Options every command that calls the server shares. */
export function withClientOptions(command: Command): Command {
  return command
    .option('--url <url>', 'keywarden server (KEYWARDEN_URL, default http://127.0.0.1:8787)')
    .option('--key-file <path>', 'file holding the management key (else KEYWARDEN_ADMIN_KEY)')
    .option('--json', 'machine-readable output');
}

const LIST_COLUMNS = [
  'id',
  'name',
  'display',
  'env',
  'status',
  'scopes',
  'ownerId',
  'expiresAt',
  'lastUsedAt',
];

function splitList(values: string[] | undefined): string[] | undefined {
  return values
    ?.flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
}

/** The gateway and limit options keys create and update share. */
function withGatewayOptions(command: Command): Command {
  return command
    .option(
      '--model <pattern>',
      'gateway: a model the key may call, exact or with * (gpt-4o*); repeatable (default: any)',
      collect,
    )
    .option(
      '--budget <name=amount/period>',
      'gateway: a money budget, repeatable, e.g. monthly=25.00/month (period: hour, day, week, month, total; "none" to clear)',
      collect,
    )
    .option(
      '--limit <rule...>',
      'rate limits, e.g. rpm=60/60 tpm=100000/60/tokens ("none": no limits, "inherit": the project defaults)',
    );
}

interface GatewayOptions {
  model?: string[];
  anyModel?: boolean;
  budget?: string[];
  limit?: string[];
}

function gatewayFields(o: GatewayOptions): Record<string, unknown> {
  const only = (values: string[] | undefined, word: string) =>
    values?.length === 1 && values[0] === word;
  return {
    models: o.anyModel ? null : splitList(o.model),
    budgets: only(o.budget, 'none') ? null : o.budget?.map(parseBudget),
    ratelimits: only(o.limit, 'none')
      ? []
      : only(o.limit, 'inherit')
        ? null
        : o.limit?.map(parseLimit),
  };
}

function parseMeta(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  const value = JSON.parse(text) as unknown;
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw new Error('--meta must be a JSON object');
  return value as Record<string, unknown>;
}

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('API keys (calls the management API)');

  withGatewayOptions(
    withClientOptions(keys.command('create').description('create a key; prints it once')),
  )
    .requiredOption('--name <name>', 'what the key is for')
    .option('--project <project>', 'project id or name (default: default)')
    .option('--env <env>', 'environment: dev, staging, prod … (default: dev)')
    .option('--scopes <scopes...>', 'scopes, e.g. billing:read orders:write (default: none)')
    .option('--expires-at <iso>', 'expiry, ISO 8601')
    .option('--owner <id>', 'owner id (user, team, service)')
    .option('--meta <json>', 'metadata as a JSON object')
    .option('--allowed-ips <cidrs...>', 'IP allowlist, CIDR ranges')
    .action(
      async (
        o: Common &
          GatewayOptions & {
            name: string;
            project?: string;
            env?: string;
            scopes?: string[];
            expiresAt?: string;
            owner?: string;
            meta?: string;
            allowedIps?: string[];
          },
      ) => {
        const created = await callApi<KeyJson>(o, 'POST', '/v1/keys', {
          name: o.name,
          project: o.project,
          env: o.env,
          scopes: splitList(o.scopes),
          expiresAt: o.expiresAt,
          ownerId: o.owner,
          meta: parseMeta(o.meta),
          allowedIps: splitList(o.allowedIps),
          ...gatewayFields(o),
        });
        printWarnings(created);
        if (o.json) printJson(created);
        else printNewKey(created.key!, `Key ${created.id} (${String(created.display)})`);
      },
    );

  withClientOptions(keys.command('list').description('list keys, newest first'))
    .option('--project <project>', 'project id or name')
    .option('--env <env>', 'environment')
    .addOption(new Option('--status <status>', 'status').choices(['active', 'disabled', 'revoked']))
    .option('--owner <id>', 'owner id')
    .option('--limit <n>', 'page size (max 100)', '50')
    .option('--cursor <cursor>', 'continue from a previous page')
    .action(
      async (
        o: Common & {
          project?: string;
          env?: string;
          status?: string;
          owner?: string;
          limit: string;
          cursor?: string;
        },
      ) => {
        const query = new URLSearchParams();
        for (const [name, value] of [
          ['project', o.project],
          ['env', o.env],
          ['status', o.status],
          ['ownerId', o.owner],
          ['limit', o.limit],
          ['cursor', o.cursor],
        ] as const) {
          if (value) query.set(name, value);
        }
        const page = await callApi<{ data: KeyJson[]; nextCursor: string | null }>(
          o,
          'GET',
          `/v1/keys?${query}`,
        );
        output(page, o, () => {
          printTable(page.data, LIST_COLUMNS);
          if (page.nextCursor) process.stdout.write(`more: --cursor ${page.nextCursor}\n`);
        });
      },
    );

  withClientOptions(keys.command('show <id>').description('show one key')).action(
    async (id: string, o: Common) => {
      const key = await callApi<KeyJson>(o, 'GET', `/v1/keys/${encodeURIComponent(id)}`);
      output(key, o, () => printRecord(key));
    },
  );

  withGatewayOptions(withClientOptions(keys.command('update <id>').description('change a key')))
    .option('--any-model', 'gateway: allow every model again')
    .option('--name <name>', 'new name')
    .option('--scopes <scopes...>', 'replace the scopes')
    .option('--expires-at <iso>', 'new expiry, ISO 8601, or "never"')
    .option('--owner <id>', 'new owner id')
    .option('--meta <json>', 'replace the metadata (JSON object)')
    .option('--allowed-ips <cidrs...>', 'replace the IP allowlist ("none" to clear)')
    .action(
      async (
        id: string,
        o: Common &
          GatewayOptions & {
            name?: string;
            scopes?: string[];
            expiresAt?: string;
            owner?: string;
            meta?: string;
            allowedIps?: string[];
          },
      ) => {
        const ips = splitList(o.allowedIps);
        const key = await callApi<KeyJson>(o, 'PATCH', `/v1/keys/${encodeURIComponent(id)}`, {
          name: o.name,
          scopes: splitList(o.scopes),
          expiresAt: o.expiresAt === 'never' ? null : o.expiresAt,
          ownerId: o.owner,
          meta: parseMeta(o.meta),
          allowedIps: ips?.length === 1 && ips[0] === 'none' ? [] : ips,
          ...gatewayFields(o),
        });
        printWarnings(key);
        output(key, o, () => printRecord(key));
      },
    );

  for (const [action, description] of [
    ['revoke', 'revoke a key at once and for good'],
    ['disable', 'disable a key (it can be enabled again)'],
    ['enable', 'enable a disabled key'],
  ] as const) {
    withClientOptions(keys.command(`${action} <id>`).description(description)).action(
      async (id: string, o: Common) => {
        const key = await callApi<KeyJson>(
          o,
          'POST',
          `/v1/keys/${encodeURIComponent(id)}/${action}`,
        );
        output(key, o, () => process.stdout.write(`${key.id} is now ${String(key.status)}\n`));
      },
    );
  }

  withClientOptions(
    keys
      .command('rotate <id>')
      .description('rotate a key: prints the new key once; the old one works for --grace seconds'),
  )
    .option('--grace <seconds>', 'how long the old key keeps working (0 = it stops now)', '0')
    .option(
      '--idempotency-key <token>',
      'make a retry return the same new key instead of minting another',
    )
    .action(async (id: string, o: Common & { grace: string; idempotencyKey?: string }) => {
      const rotated = await callApi<KeyJson>(
        o,
        'POST',
        `/v1/keys/${encodeURIComponent(id)}/rotate`,
        { gracePeriodSeconds: Number(o.grace) },
        o.idempotencyKey ? { 'idempotency-key': o.idempotencyKey } : {},
      );
      if (o.json) printJson(rotated);
      else
        printNewKey(
          rotated.key!,
          `Key ${rotated.id} replaces ${id} (old key works for ${o.grace} s)`,
        );
    });

  for (const action of ['revoke', 'rotate'] as const) {
    withClientOptions(
      keys
        .command(`bulk-${action}`)
        .description(`emergency: ${action} every key matching the filter (at least one condition)`),
    )
      .option('--project <project>', 'project id or name')
      .option('--env <env>', 'environment')
      .option('--owner <id>', 'owner id')
      .option('--created-before <iso>', 'only keys created before this time')
      .option('--grace <seconds>', 'bulk-rotate: how long the old keys keep working', '0')
      .option('--reason <text>', 'bulk-revoke: why (audited)')
      .option('--dry-run', 'only list what would be changed')
      .option('--yes', 'do not ask for confirmation')
      .action(
        async (
          o: Common & {
            project?: string;
            env?: string;
            owner?: string;
            createdBefore?: string;
            grace: string;
            reason?: string;
            dryRun?: boolean;
            yes?: boolean;
          },
        ) => {
          const filter = {
            project: o.project,
            env: o.env,
            ownerId: o.owner,
            createdBefore: o.createdBefore,
          };
          const path = `/v1/keys/bulk/${action}`;
          const extra =
            action === 'rotate' ? { gracePeriodSeconds: Number(o.grace) } : { reason: o.reason };
          const preview = await callApi<{ count: number; keys: KeyJson[] }>(o, 'POST', path, {
            filter,
            dryRun: true,
            ...extra,
          });
          if (o.dryRun) {
            output(preview, o, () => {
              printTable(preview.keys, LIST_COLUMNS);
              process.stdout.write(`${preview.count} keys would be ${action}d\n`);
            });
            return;
          }
          if (!o.yes && !(await confirm(`${action} ${preview.count} keys?`)))
            throw new CliError('aborted', 1);
          const done = await callApi<{ count: number; keys: KeyJson[]; created?: KeyJson[] }>(
            o,
            'POST',
            path,
            { filter, ...extra },
          );
          output(done, o, () => {
            process.stdout.write(`${done.count} keys ${action}d\n`);
            for (const created of done.created ?? [])
              process.stdout.write(`${created.rotatedFromId} → ${created.id}  ${created.key}\n`);
          });
        },
      );
  }

  withClientOptions(keys.command('delete <id>').description('delete a key record for good')).action(
    async (id: string, o: Common) => {
      await callApi(o, 'DELETE', `/v1/keys/${encodeURIComponent(id)}`);
      output({ id, deleted: true }, o, () => process.stdout.write(`${id} deleted\n`));
    },
  );
}
