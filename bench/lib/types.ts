import type { LoadTool } from './load.ts';
import type { Summary } from './stats.ts';

/**
 * The contract between `run.ts` and each scenario. Adding a comparison (rate limits, gateway
 * vs Portkey, scanner vs secretlint) means writing one module that exports a `Scenario` and
 * adding it to the list in `run.ts`; the table, the JSON output and the target check come free.
 */

export type Unit = 'ops/s' | 'req/s' | 'ms' | 'µs' | 'MB/s' | '×';

export interface Row {
  /** The scenario's title, first column of the table. */
  scenario: string;
  /** What was measured: "keywarden GET /v1/auth", "bare node:http 200", … */
  subject: string;
  /** Which figure: "throughput, 32 conns", "p50, 1 conn", … */
  metric: string;
  unit: Unit;
  /** Over the rounds or runs: the median is the figure, min–max its spread. */
  stats: Summary;
  /** Compared with another row of the same scenario: ratio = this median / its median. */
  baseline?: { subject: string; ratio: number };
  /**
   * What the project promises and whether it held: a ratio (e.g. ≥ 0.70 of the bare
   * handler, checked by `compared`), or any other bound, stated by `label` (e.g. "≤ 1 ms").
   */
  target?: { minRatio?: number; label?: string; met: boolean };
  /** Anything the reader must know to trust the figure (errors, non-2xx answers). */
  note?: string;
}

export interface Settings {
  quick: boolean;
  /** In-process: rounds per subject, time per round, warm-up per subject. */
  rounds: number;
  roundMs: number;
  warmupMs: number;
  /** HTTP: connections, seconds per run, runs per target, warm-up seconds per target. */
  connections: number;
  runSeconds: number;
  runs: number;
  warmupSeconds: number;
  /** The latency-floor runs at one connection. */
  floorRuns: number;
  floorSeconds: number;
}

export interface BenchContext {
  settings: Settings;
  load: LoadTool;
  /** When set, servers run under `node --cpu-prof` and write their profiles here. */
  profileDir: string | undefined;
  /** Progress goes to stderr, so that stdout holds only the table. */
  log(message: string): void;
}

export interface Scenario {
  /** Short id for `--only`. */
  id: string;
  title: string;
  run(ctx: BenchContext): Promise<Row[]>;
}

/** No samples: `n` 0 marks a row that could not be measured (the table prints why). */
export const NOT_MEASURED: Summary = { median: 0, min: 0, max: 0, spreadPct: 0, n: 0 };

/** A row for a figure that could not be taken, saying why instead of printing a number. */
export function notMeasured(
  row: Omit<Row, 'stats' | 'baseline' | 'target' | 'note'>,
  why: string,
): Row {
  return { ...row, stats: NOT_MEASURED, note: `not measured: ${why}` };
}

/**
 * Builds a row compared with a baseline row, checking the target when there is one. A zero
 * baseline (a latency below the tool's resolution) gives no ratio rather than Infinity/NaN.
 */
export function compared(row: Omit<Row, 'baseline' | 'target'>, base: Row, minRatio?: number): Row {
  if (base.stats.median === 0 || row.stats.n === 0 || base.stats.n === 0) return { ...row };
  const r = row.stats.median / base.stats.median;
  return {
    ...row,
    baseline: { subject: base.subject, ratio: r },
    ...(minRatio === undefined ? {} : { target: { minRatio, met: r >= minRatio } }),
  };
}
