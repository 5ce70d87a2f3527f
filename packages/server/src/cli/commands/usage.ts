import { type Command, Option } from 'commander';
import { renderUsageChart, type UsageChartInput } from '../../usage/index.ts';
import { type ClientOptions, callApi } from '../client.ts';
import { output, printTable } from '../output.ts';
import { withClientOptions } from './keys.ts';

type UsageOptions = ClientOptions & {
  json?: boolean;
  key?: string;
  owner?: string;
  project?: string;
  env?: string;
  outcome?: string;
  from?: string;
  to?: string;
  granularity?: string;
  byOutcome?: boolean;
};

interface UsageReportJson extends UsageChartInput {
  data: Array<{ start: string; count: number } & Record<string, unknown>>;
}

const COLUMNS = ['start', 'count', 'cost', 'tokensIn', 'tokensOut', 'costMicros', 'latencyMsAvg'];

/** `keywarden usage`: verifications per time bucket (GET /v1/usage), as a table and a chart. */
export function registerUsage(program: Command): void {
  withClientOptions(
    program.command('usage').description('verifications, cost and tokens per time bucket'),
  )
    .option('--key <id>', 'only this key')
    .option('--owner <id>', 'only keys of this owner')
    .option('--project <id>', 'only keys of this project (id)')
    .option('--env <env>', 'only keys of this environment')
    .option('--outcome <code>', 'only this verification outcome, e.g. VALID, RATE_LIMITED')
    .option('--from <iso>', 'start, inclusive, ISO 8601 (default: 24 h before --to)')
    .option('--to <iso>', 'end, exclusive, ISO 8601 (default: now)')
    .addOption(
      new Option('--granularity <size>', 'bucket size (default: hour)').choices([
        'minute',
        'hour',
        'day',
      ]),
    )
    .option('--by-outcome', 'one row per bucket and outcome')
    .action(async (o: UsageOptions) => {
      const query = new URLSearchParams();
      const params: Array<[string, string | undefined]> = [
        ['keyId', o.key],
        ['ownerId', o.owner],
        ['projectId', o.project],
        ['env', o.env],
        ['outcome', o.outcome],
        ['from', o.from],
        ['to', o.to],
        ['granularity', o.granularity],
        ['groupBy', o.byOutcome ? 'outcome' : undefined],
      ];
      for (const [name, value] of params) if (value !== undefined) query.set(name, value);
      const report = await callApi<UsageReportJson>(o, 'GET', `/v1/usage?${query}`);
      output(report, o, () => {
        printTable(
          report.data.map((row) => ({
            ...row,
            latencyMsAvg: Math.round(Number(row.latencyMsAvg) * 10) / 10,
          })),
          o.byOutcome ? ['start', 'outcome', ...COLUMNS.slice(1)] : COLUMNS,
        );
        const width = Math.max(10, Math.min(120, (process.stdout.columns ?? 80) - 30));
        const chart = renderUsageChart(report, width);
        process.stdout.write(
          `\ncount per ${report.granularity}, ${report.from} to ${report.to}\n${chart}\n`,
        );
      });
    });
}
