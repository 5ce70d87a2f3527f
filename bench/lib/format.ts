import type { Row, Unit } from './types.ts';

/**
 * Markdown output. Figures are rounded to what the spread justifies (3 significant digits):
 * printing 19447.69 req/s suggests a precision that a 2-core shared machine does not have.
 */

export function formatNumber(value: number, unit: Unit): string {
  if (unit === 'ms')
    return value < 1 ? value.toFixed(3) : value < 10 ? value.toFixed(2) : value.toFixed(1);
  if (value >= 1e6) return `${(value / 1e6).toPrecision(3)}M`;
  if (value >= 1e3) return `${(value / 1e3).toPrecision(3)}k`;
  return value.toPrecision(3);
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

/** The Target column: the promise and its verdict. */
export function targetText(target: NonNullable<Row['target']>): string {
  const bound = target.label ?? `≥ ${(target.minRatio ?? 0).toFixed(2)}×`;
  return `${bound}: ${target.met ? 'met' : '**MISSED**'}`;
}

export function renderTable(rows: readonly Row[]): string {
  const header = [
    'Scenario',
    'Subject',
    'Metric',
    'Median',
    'Spread (min–max, runs)',
    'Ratio',
    'Target',
  ];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const row of rows) {
    const { stats, unit } = row;
    const measured = stats.n > 0;
    const median = measured ? `${formatNumber(stats.median, unit)} ${unit}` : '—';
    const spread = measured
      ? `${formatNumber(stats.min, unit)}–${formatNumber(stats.max, unit)} (±${(stats.spreadPct / 2).toFixed(1)}%, n=${stats.n})`
      : '—';
    const ratioText = row.baseline
      ? `${row.baseline.ratio.toFixed(2)}× ${row.baseline.subject}`
      : '—';
    const target = row.target ? targetText(row.target) : '—';
    const metric = row.note ? `${row.metric} (${row.note})` : row.metric;
    lines.push(
      `| ${[row.scenario, row.subject, metric, median, spread, ratioText, target].map(cell).join(' | ')} |`,
    );
  }
  return lines.join('\n');
}
