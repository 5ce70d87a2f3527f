import { readFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import { CliError, type ClientOptions, callApi } from '../client.ts';
import { output, printRecord, printTable } from '../output.ts';
import { collect, parseInteger, parsePrice, parseRoute } from '../parse.ts';
import { withClientOptions } from './keys.ts';

type Common = ClientOptions & { json?: boolean };
type UpstreamJson = Record<string, unknown> & { id: string; name: string };

interface SettingsOptions {
  baseUrl?: string;
  secretEnv?: string;
  secretFile?: string;
  secretStdin?: boolean;
  authHeader?: string;
  /** A scheme, or false for --no-auth-scheme. */
  authScheme?: string | false;
  env?: string[];
  route?: string[];
  price?: string[];
  connectTimeout?: string;
  headersTimeout?: string;
  bodyTimeout?: string;
}

/**
 * The provider secret comes from an environment variable, a file or stdin, never from an
 * argument value: arguments show in the process list and in shell history. One trailing
 * newline (as `echo` and editors leave) is dropped.
 */
async function readSecret(o: SettingsOptions): Promise<string | undefined> {
  const sources = [o.secretEnv, o.secretFile, o.secretStdin].filter((s) => s !== undefined);
  if (sources.length > 1)
    throw new CliError('pass one of --secret-env, --secret-file, --secret-stdin', 2);
  let text: string | undefined;
  if (o.secretEnv !== undefined) {
    text = process.env[o.secretEnv];
    if (!text) throw new CliError(`--secret-env ${o.secretEnv}: that variable is not set`, 2);
  } else if (o.secretFile !== undefined) {
    text = readFileSync(o.secretFile, 'utf8');
  } else if (o.secretStdin) {
    if (process.stdin.isTTY)
      process.stderr.write('Paste the secret, then press Enter and Ctrl-D:\n');
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Buffer));
    text = Buffer.concat(chunks).toString('utf8');
  }
  return text?.replace(/\r?\n$/, '');
}

function withSettingsOptions(command: Command): Command {
  return command
    .option('--base-url <url>', 'absolute http(s) URL, e.g. https://api.openai.com/v1')
    .option('--secret-env <var>', 'read the provider secret from this environment variable')
    .option('--secret-file <path>', 'read the provider secret from this file')
    .option('--secret-stdin', 'read the provider secret from stdin')
    .option('--auth-header <header>', 'header that carries the secret (default authorization)')
    .option('--auth-scheme <scheme>', 'written before the secret (default Bearer)')
    .option('--no-auth-scheme', 'send the secret alone, without a scheme')
    .option(
      '--env <env>',
      'accept keys of this environment only; repeatable (default: any)',
      collect,
    )
    .option(
      '--route <"METHOD PATH SCOPE">',
      'http upstreams: the scope a route needs, repeatable, e.g. "POST /v1/things/** things:write"',
      collect,
    )
    .option(
      '--price <model=input,output>',
      'price per million tokens in currency units, repeatable, e.g. gpt-4o=2.5,10',
      collect,
    )
    .option('--connect-timeout <ms>', 'connecting to the upstream (default 5000)')
    .option('--headers-timeout <ms>', 'until the response headers arrive (default 300000)')
    .option('--body-timeout <ms>', 'longest silence between body chunks (default 300000)');
}

async function settingsBody(o: SettingsOptions): Promise<Record<string, unknown>> {
  const timeouts = {
    connectMs: parseInteger('--connect-timeout', o.connectTimeout),
    headersMs: parseInteger('--headers-timeout', o.headersTimeout),
    bodyMs: parseInteger('--body-timeout', o.bodyTimeout),
  };
  return {
    baseUrl: o.baseUrl,
    secret: await readSecret(o),
    authHeader: o.authHeader,
    authScheme: o.authScheme === false ? null : o.authScheme,
    environments: o.env,
    routes: o.route?.map(parseRoute),
    prices: o.price && Object.fromEntries(o.price.map(parsePrice)),
    timeouts: Object.values(timeouts).some((v) => v !== undefined) ? timeouts : undefined,
  };
}

const LIST_COLUMNS = ['id', 'name', 'type', 'baseUrl', 'hasSecret', 'secretHint', 'environments'];

export function registerUpstreams(program: Command): void {
  const upstreams = program
    .command('upstreams')
    .description('gateway upstreams and their provider secrets (calls the management API)');

  withSettingsOptions(
    withClientOptions(
      upstreams.command('create').description('create an upstream for /gw/{name}/…'),
    ),
  )
    .requiredOption('--name <name>', 'the {name} in /gw/{name}/…, [a-z0-9-]')
    .addOption(
      new Option('--type <type>', 'openai (OpenAI-compatible) or http (any API)')
        .choices(['openai', 'http'])
        .makeOptionMandatory(),
    )
    .action(async (o: Common & SettingsOptions & { name: string; type: string }) => {
      if (o.baseUrl === undefined) throw new CliError('--base-url is required', 2);
      const created = await callApi<UpstreamJson>(o, 'POST', '/v1/upstreams', {
        name: o.name,
        type: o.type,
        ...(await settingsBody(o)),
      });
      output(created, o, () => printRecord(created));
    });

  withClientOptions(upstreams.command('list').description('list upstreams')).action(
    async (o: Common) => {
      const page = await callApi<{ data: UpstreamJson[] }>(o, 'GET', '/v1/upstreams');
      output(page, o, () => printTable(page.data, LIST_COLUMNS));
    },
  );

  withClientOptions(
    upstreams.command('show <upstream>').description('show an upstream (id or name)'),
  ).action(async (ref: string, o: Common) => {
    const upstream = await callApi<UpstreamJson>(
      o,
      'GET',
      `/v1/upstreams/${encodeURIComponent(ref)}`,
    );
    output(upstream, o, () => printRecord(upstream));
  });

  withSettingsOptions(
    withClientOptions(
      upstreams
        .command('update <upstream>')
        .description('change an upstream; --secret-* replaces the secret (no downtime)'),
    ),
  )
    .option('--name <name>', 'rename it (the gateway path changes with it)')
    .option('--remove-secret', 'forward without a secret from now on')
    .option('--any-env', 'accept keys of every environment again')
    .option('--clear-routes', 'remove every route')
    .option('--clear-prices', 'remove every price override')
    .action(
      async (
        ref: string,
        o: Common &
          SettingsOptions & {
            name?: string;
            removeSecret?: boolean;
            anyEnv?: boolean;
            clearRoutes?: boolean;
            clearPrices?: boolean;
          },
      ) => {
        const body = await settingsBody(o);
        if (o.removeSecret) {
          if (body.secret !== undefined)
            throw new CliError('--remove-secret and --secret-* exclude each other', 2);
          body.secret = null;
        }
        if (o.anyEnv) body.environments = null;
        if (o.clearRoutes) body.routes = [];
        if (o.clearPrices) body.prices = {};
        body.name = o.name;
        if (Object.values(body).every((v) => v === undefined))
          throw new CliError('nothing to change: pass an option to change', 2);
        const upstream = await callApi<UpstreamJson>(
          o,
          'PATCH',
          `/v1/upstreams/${encodeURIComponent(ref)}`,
          body,
        );
        output(upstream, o, () => printRecord(upstream));
      },
    );

  withClientOptions(
    upstreams.command('delete <upstream>').description('delete an upstream'),
  ).action(async (ref: string, o: Common) => {
    await callApi(o, 'DELETE', `/v1/upstreams/${encodeURIComponent(ref)}`);
    output({ upstream: ref, deleted: true }, o, () => process.stdout.write(`${ref} deleted\n`));
  });
}
