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
    const spread = `${formatNumber(stats.min, unit)}–${formatNumber(stats.max, unit)} (±${(stats.spreadPct / 2).toFixed(1)}%, n=${stats.n})`;
    const ratioText = row.baseline
      ? `${row.baseline.ratio.toFixed(2)}× ${row.baseline.subject}`
      : '—';
    const target = row.target
      ? `≥ ${row.target.minRatio.toFixed(2)}×: ${row.target.met ? 'met' : '**MISSED**'}`
      : '—';
    const metric = row.note ? `${row.metric} (${row.note})` : row.metric;
    lines.push(
      `| ${[row.scenario, row.subject, metric, `${formatNumber(stats.median, unit)} ${unit}`, spread, ratioText, target].map(cell).join(' | ')} |`,
    );
  }
  return lines.join('\n');
}
