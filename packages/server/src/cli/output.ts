import Table from 'cli-table3';

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
  const width = Math.max(...Object.keys(record).map((k) => k.length));
  for (const [k, v] of Object.entries(record)) {
    process.stdout.write(`${k.padEnd(width)}  ${formatCell(v)}\n`);
  }
}

function formatCell(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (Array.isArray(value)) return value.join(' ');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

export function output(value: unknown, options: OutputOptions, human: () => void): void {
  if (options.json) printJson(value);
  else human();
}

/** The one place a plaintext key is printed: on its own line, with the warning. */
export function printNewKey(plaintext: string, what: string): void {
  process.stderr.write(
    `\n  ${what} — shown once, never again. Store it in a secret manager now.\n\n`,
  );
  process.stdout.write(`${plaintext}\n`);
}
