import { type Command, Option } from 'commander';
import { formatUsd } from '../../money/index.ts';
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
  data: UsageRowJson[];
}

/**
 * `credits` is the API's `cost` (credits spent); `cost` is money, in dollars from the API's
 * exact `costUsd`; `unpriced` counts calls whose model had no price, so that their cost
 * (unknown) is not read as $0.
 */
const COLUMNS = [
  'start',
  'count',
  'credits',
  'tokensIn',
  'tokensOut',
  'cost',
  'unpriced',
  'latencyMsAvg',
];

interface UsageRowJson {
  start: string;
  outcome?: string;
  count: number;
  cost: number;
  tokensIn: number;
  tokensOut: number;
  costMicros: number;
  costUsd?: string;
  unpriced?: number;
  latencyMsAvg: number;
}

/** The API's buckets as the table shows them. */
export function usageTableRows(data: readonly UsageRowJson[]): Array<Record<string, unknown>> {
  return data.map((row) => ({
    start: row.start,
    ...(row.outcome !== undefined && { outcome: row.outcome }),
    count: row.count,
    credits: row.cost,
    tokensIn: row.tokensIn,
    tokensOut: row.tokensOut,
    cost: `$${row.costUsd ?? formatUsd(row.costMicros)}`,
    unpriced: row.unpriced ?? 0,
    latencyMsAvg: Math.round(Number(row.latencyMsAvg) * 10) / 10,
  }));
}

/** The line under the table: the money in the range, and what it leaves out. */
export function usageTotals(data: readonly UsageRowJson[]): string {
  const micros = data.reduce((sum, row) => sum + row.costMicros, 0);
  const unpriced = data.reduce((sum, row) => sum + (row.unpriced ?? 0), 0);
  const total = `total cost $${formatUsd(micros)}`;
  return unpriced === 0
    ? total
    : `${total}, not counting ${unpriced} unpriced call${unpriced === 1 ? '' : 's'} (a model without a price: cost unknown; see keywarden prices)`;
}

/** `keywarden usage`: verifications per time bucket (GET /v1/usage), as a table and a chart. */
export function registerUsage(program: Command): void {
  withClientOptions(
    program.command('usage').description('verifications, cost and tokens per time bucket'),
  )
    .option('--key <id>', 'only this key')
    .option('--owner <id>', 'only keys of this owner')
    .option('--project <project>', 'only keys of this project (id or name)')
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
        ['project', o.project],
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
          usageTableRows(report.data),
          o.byOutcome ? ['start', 'outcome', ...COLUMNS.slice(1)] : COLUMNS,
        );
        if (report.data.length > 0) process.stdout.write(`${usageTotals(report.data)}\n`);
        const width = Math.max(10, Math.min(120, (process.stdout.columns ?? 80) - 30));
        const chart = renderUsageChart(report, width);
        process.stdout.write(
          `\ncount per ${report.granularity}, ${report.from} to ${report.to}\n${chart}\n`,
        );
      });
    });
}
