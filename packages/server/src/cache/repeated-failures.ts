import type { Logger } from '../log/index.ts';

/**
 * A failure that repeats every second while the store is down (the usage, last-used and
 * credit write-back loops) is logged once when it starts, with its error, and then once a
 * minute at most as a count, without a stack; every occurrence is counted (`count`). A
 * failure after `quietMs` without one counts as a new outage and is logged in full again.
 * (Finding 8 measured ~25,900 error lines with stacks per node and minute.)
 */
export function repeatedFailureLog(
  logger: Logger | undefined,
  what: string,
  options: { count?: () => void; now?: () => number; quietMs?: number; summaryMs?: number } = {},
): (error: unknown) => void {
  const now = options.now ?? (() => performance.now());
  const quietMs = options.quietMs ?? 10_000;
  const summaryMs = options.summaryMs ?? 60_000;
  let lastFailure = Number.NEGATIVE_INFINITY;
  let lastLogged = Number.NEGATIVE_INFINITY;
  let unlogged = 0;
  return (error) => {
    options.count?.();
    const at = now();
    const newOutage = at - lastFailure >= quietMs;
    lastFailure = at;
    if (newOutage) {
      unlogged = 0;
      lastLogged = at;
      logger?.error({ err: error }, what);
      return;
    }
    unlogged++;
    if (at - lastLogged >= summaryMs) {
      logger?.warn(
        { failures: unlogged, error: error instanceof Error ? error.message : String(error) },
        `${what} (still failing: ${unlogged} more times since the last line)`,
      );
      lastLogged = at;
      unlogged = 0;
    } else logger?.debug({ err: error }, what);
  };
}
