import { bucketStarts } from './buckets.ts';
import type { UsageGranularity } from './types.ts';

const BLOCKS = '▁▂▃▄▅▆▇█';

/**
 * One line of unicode blocks, one per value, scaled from the smallest value (▁) to the
 * largest (█). More values than `width` are merged into `width` columns, each showing the
 * largest value it covers, so that a peak never disappears. Non-finite values count as 0.
 */
export function renderSparkline(values: readonly number[], width: number): string {
  const columns = Math.min(values.length, Math.max(0, Math.floor(width)));
  if (columns === 0) return '';
  const clean = values.map((v) => (Number.isFinite(v) ? v : 0));
  const merged: number[] = [];
  for (let c = 0; c < columns; c++) {
    const start = Math.floor((c * clean.length) / columns);
    const end = Math.floor(((c + 1) * clean.length) / columns);
    merged.push(Math.max(...clean.slice(start, end)));
  }
  const min = Math.min(...merged);
  const max = Math.max(...merged);
  const top = BLOCKS.length - 1;
  return merged
    .map((v) => {
      // A flat line sits at the bottom when it is all zeros, in the middle otherwise.
      if (max === min) return BLOCKS[v === 0 ? 0 : top >> 1];
      return BLOCKS[Math.round(((v - min) / (max - min)) * top)];
    })
    .join('');
}

/** The parts of a usage answer (`GET /v1/usage`) the chart needs. */
export interface UsageChartInput {
  granularity: UsageGranularity;
  from: string;
  to: string;
  data: ReadonlyArray<{ start: string; count: number }>;
}

/**
 * Counts per bucket over the whole range as a sparkline with its min and max, e.g.
 * `▁▁▃█▅▁  min 0  max 912`. Buckets without events (left out of the answer) count as 0;
 * rows of several outcomes in one bucket are added up. Empty when the range holds no bucket.
 */
export function renderUsageChart(report: UsageChartInput, width: number): string {
  const counts = new Map<number, number>();
  for (const row of report.data) {
    const start = Date.parse(row.start);
    counts.set(start, (counts.get(start) ?? 0) + row.count);
  }
  const values = bucketStarts(
    Date.parse(report.from),
    Date.parse(report.to),
    report.granularity,
  ).map((start) => counts.get(start) ?? 0);
  if (values.length === 0) return '';
  const bars = renderSparkline(values, width);
  return `${bars}  min ${Math.min(...values)}  max ${Math.max(...values)}`;
}
