import type { UsageGranularity } from './types.ts';

/**
 * Time buckets in UTC. A bucket is `[start, start + size)`; a day is a UTC day. Pure
 * functions, shared by the store's roll-ups, the query API and the CLI's chart.
 */
export const GRANULARITY_MS: Readonly<Record<UsageGranularity, number>> = Object.freeze({
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
});

/** The start of the bucket holding `at`. */
export function bucketStart(at: number, granularity: UsageGranularity): number {
  const size = GRANULARITY_MS[granularity];
  return Math.floor(at / size) * size;
}

/** How many buckets start in `[from, to)`. */
export function bucketCount(from: number, to: number, granularity: UsageGranularity): number {
  if (to <= from) return 0;
  const size = GRANULARITY_MS[granularity];
  return Math.ceil(to / size) - Math.ceil(from / size);
}

/** The starts of every bucket starting in `[from, to)`, oldest first. */
export function bucketStarts(from: number, to: number, granularity: UsageGranularity): number[] {
  const size = GRANULARITY_MS[granularity];
  const starts: number[] = [];
  for (let start = Math.ceil(from / size) * size; start < to; start += size) starts.push(start);
  return starts;
}
