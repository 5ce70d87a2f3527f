/**
 * The few statistics the benchmarks report. Pure and exact on known inputs, so that the smoke
 * test can pin them: a benchmark whose arithmetic is wrong is worse than none.
 */

export interface Summary {
  median: number;
  min: number;
  max: number;
  /** (max − min) / |median|, in percent: how much the rounds disagreed. */
  spreadPct: number;
  n: number;
}

function sorted(values: readonly number[]): number[] {
  if (values.length === 0) throw new RangeError('no values');
  for (const v of values) {
    if (!Number.isFinite(v)) throw new RangeError(`not a finite number: ${v}`);
  }
  return [...values].sort((a, b) => a - b);
}

/**
 * Percentile with linear interpolation between the two nearest ranks (the "R-7" definition,
 * numpy's and spreadsheets' default): p=0 is the minimum, p=100 the maximum, and p=50 of an
 * even count is the mean of the two middle values, so `median` is `percentile(…, 50)`.
 */
export function percentile(values: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within 0..100, got ${p}`);
  const s = sorted(values);
  const rank = (p / 100) * (s.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const low = s[lo]!;
  const high = s[hi]!;
  return low + (high - low) * (rank - lo);
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

export function summarize(values: readonly number[]): Summary {
  const s = sorted(values);
  const med = median(s);
  const min = s[0]!;
  const max = s[s.length - 1]!;
  return {
    median: med,
    min,
    max,
    // |median|: a difference (a gateway minus the direct path) can be negative.
    spreadPct: med === 0 ? 0 : ((max - min) / Math.abs(med)) * 100,
    n: s.length,
  };
}

/** `a / b`, the form every "X vs baseline" column uses. */
export function ratio(a: number, b: number): number {
  if (b === 0) throw new RangeError('ratio against zero');
  return a / b;
}
