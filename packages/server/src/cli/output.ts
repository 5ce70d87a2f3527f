import Table from 'cli-table3';
import { formatUsd, unitsToMicros } from '../money/index.ts';

/** Human tables by default, `--json` for machines: every command prints through here. */
export interface OutputOptions {
  json?: boolean;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printTable(rows: Array<Record<string, unknown>>, columns: string[]): void {
  if (rows.length === 0) {
    process.stdout.write('(none)\n');
    return;
  }
  const table = new Table({ head: columns, style: { head: [], border: [] } });
  for (const row of rows) table.push(columns.map((c) => formatCell(row[c])));
  process.stdout.write(`${table.toString()}\n`);
}

export function printRecord(record: Record<string, unknown>): void {
  const { warnings: _warnings, ...fields } = record;
  const width = Math.max(...Object.keys(fields).map((k) => k.length));
  for (const [k, v] of Object.entries(fields)) {
    process.stdout.write(`${k.padEnd(width)}  ${formatCell(v)}\n`);
  }
}

/** One value as a person reads it: lists item by item, money in dollars, never `[object Object]`. */
export function formatCell(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (Array.isArray(value)) return value.map(formatItem).join(' ');
  if (typeof value === 'object') return formatItem(value);
  return String(value);
}

function formatItem(item: unknown): string {
  if (item === null || typeof item !== 'object') return String(item);
  const record = item as Record<string, unknown>;
  // A budget ({ name, amount, period }): written as `--budget` takes it, amount in dollars.
  if (
    typeof record.name === 'string' &&
    typeof record.amount === 'number' &&
    typeof record.period === 'string'
  )
    return `${record.name}=${usd(record.amount)}/${record.period}`;
  // A rate limit ({ name, limit, windowSeconds, unit? }): as `--limit` takes it.
  if (
    typeof record.name === 'string' &&
    typeof record.limit === 'number' &&
    typeof record.windowSeconds === 'number'
  )
    return `${record.name}=${record.limit}/${record.windowSeconds}${record.unit ? `/${record.unit}` : ''}`;
  return JSON.stringify(item);
}

/** Currency units (a number, as the API writes budgets) → `$25.00`; exact, never a float's digits. */
export function usd(units: number): string {
  const micros = unitsToMicros(units);
  return micros === null ? `$${units}` : `$${formatUsd(micros, 2)}`;
}

export function output(value: unknown, options: OutputOptions, human: () => void): void {
  if (options.json) printJson(value);
  else human();
}

/** An answer's `warnings` (e.g. a budget too small for one request), on stderr, also with --json. */
export function printWarnings(answer: object): void {
  if (!('warnings' in answer)) return;
  if (!Array.isArray(answer.warnings)) return;
  for (const warning of answer.warnings) process.stderr.write(`warning: ${String(warning)}\n`);
}

/** Lines in a box sized to the longest (the sides were once hand-drawn, one short). */
export function boxed(lines: readonly string[]): string {
  const width = Math.max(...lines.map((line) => line.length));
  const rule = '─'.repeat(width + 2);
  return [`  ┌${rule}┐`, ...lines.map((line) => `  │ ${line.padEnd(width)} │`), `  └${rule}┘`].join(
    '\n',
  );
}

/** The one place a plaintext key is printed: on its own line, with the warning. */
export function printNewKey(plaintext: string, what: string): void {
  process.stderr.write(
    `\n  ${what} — shown once, never again. Store it in a secret manager now.\n\n`,
  );
  process.stdout.write(`${plaintext}\n`);
}
