import { bucketStart } from './buckets.ts';
import type { UsageEvent, UsageGranularity } from './types.ts';

/**
 * What one batch of events adds to the roll-ups: one delta per granularity, bucket and
 * dimension tuple. Dimensions are stored as `''` instead of NULL because NULLs are distinct
 * in a unique index (on SQLite and on PostgreSQL without `NULLS NOT DISTINCT`), which would
 * make an upsert on them insert a new row every time.
 */
export interface UsageRollupDelta {
  granularity: UsageGranularity;
  bucketStart: number;
  keyId: string;
  ownerId: string;
  projectId: string;
  env: string;
  outcome: string;
  count: number;
  costSum: number;
  tokensInSum: number;
  tokensOutSum: number;
  costMicrosSum: number;
  /** Calls whose cost is unknown (usage/types.ts `unpriced`). */
  unpricedSum: number;
  latencyMsSum: number;
}

/** The roll-up dimension value for a nullable event field. */
export const NO_DIMENSION = '';

/**
 * Aggregates a batch in memory, so that each roll-up row is upserted once per batch (one
 * statement may not touch a row twice on PostgreSQL). The result is sorted by its unique key:
 * every node then locks roll-up rows in the same order, so concurrent batches cannot deadlock.
 *
 * Events are summed per minute first (a run of events with the same dimensions in the same
 * minute, the common case, adds to the previous delta without building a map key), and the
 * minutes are then summed into hours and days.
 */
export function rollUp(events: readonly UsageEvent[]): UsageRollupDelta[] {
  const minutes = new Map<string, UsageRollupDelta>();
  let previous: UsageRollupDelta | undefined;
  for (const event of events) {
    const start = bucketStart(event.at, 'minute');
    const keyId = event.keyId ?? NO_DIMENSION;
    const ownerId = event.ownerId ?? NO_DIMENSION;
    const projectId = event.projectId ?? NO_DIMENSION;
    const env = event.env ?? NO_DIMENSION;
    let delta =
      previous &&
      previous.bucketStart === start &&
      previous.keyId === keyId &&
      previous.outcome === event.outcome &&
      previous.ownerId === ownerId &&
      previous.projectId === projectId &&
      previous.env === env
        ? previous
        : undefined;
    if (!delta) {
      const id = deltaId('minute', start, keyId, ownerId, projectId, env, event.outcome);
      delta = minutes.get(id);
      if (!delta) {
        delta = emptyDelta('minute', start, keyId, ownerId, projectId, env, event.outcome);
        minutes.set(id, delta);
      }
      previous = delta;
    }
    // An event may stand for `count` identical ones (latency their mean).
    const count = event.count ?? 1;
    delta.count += count;
    delta.costSum += event.cost * count;
    delta.tokensInSum += (event.tokensIn ?? 0) * count;
    delta.tokensOutSum += (event.tokensOut ?? 0) * count;
    delta.costMicrosSum += (event.costMicros ?? 0) * count;
    if (event.unpriced) delta.unpricedSum += count;
    delta.latencyMsSum += event.latencyMs * count;
  }
  const hours = coarsen(minutes.values(), 'hour');
  const days = coarsen(hours.values(), 'day');
  return [...minutes.values(), ...hours.values(), ...days.values()].sort(compareDeltas);
}

/** Sums finer deltas into the buckets of a coarser granularity. */
function coarsen(
  finer: Iterable<UsageRollupDelta>,
  granularity: UsageGranularity,
): Map<string, UsageRollupDelta> {
  const coarser = new Map<string, UsageRollupDelta>();
  for (const d of finer) {
    const start = bucketStart(d.bucketStart, granularity);
    const id = deltaId(granularity, start, d.keyId, d.ownerId, d.projectId, d.env, d.outcome);
    let delta = coarser.get(id);
    if (!delta) {
      delta = emptyDelta(granularity, start, d.keyId, d.ownerId, d.projectId, d.env, d.outcome);
      coarser.set(id, delta);
    }
    delta.count += d.count;
    delta.costSum += d.costSum;
    delta.tokensInSum += d.tokensInSum;
    delta.tokensOutSum += d.tokensOutSum;
    delta.costMicrosSum += d.costMicrosSum;
    delta.unpricedSum += d.unpricedSum;
    delta.latencyMsSum += d.latencyMsSum;
  }
  return coarser;
}

function deltaId(
  granularity: UsageGranularity,
  start: number,
  keyId: string,
  ownerId: string,
  projectId: string,
  env: string,
  outcome: string,
): string {
  return `${granularity}\u0000${start}\u0000${keyId}\u0000${ownerId}\u0000${projectId}\u0000${env}\u0000${outcome}`;
}

function emptyDelta(
  granularity: UsageGranularity,
  bucketStart: number,
  keyId: string,
  ownerId: string,
  projectId: string,
  env: string,
  outcome: string,
): UsageRollupDelta {
  return {
    granularity,
    bucketStart,
    keyId,
    ownerId,
    projectId,
    env,
    outcome,
    count: 0,
    costSum: 0,
    tokensInSum: 0,
    tokensOutSum: 0,
    costMicrosSum: 0,
    unpricedSum: 0,
    latencyMsSum: 0,
  };
}

const GRANULARITY_ORDER: Record<UsageGranularity, number> = { minute: 0, hour: 1, day: 2 };

function compareDeltas(a: UsageRollupDelta, b: UsageRollupDelta): number {
  return (
    GRANULARITY_ORDER[a.granularity] - GRANULARITY_ORDER[b.granularity] ||
    a.bucketStart - b.bucketStart ||
    compareText(a.keyId, b.keyId) ||
    compareText(a.ownerId, b.ownerId) ||
    compareText(a.projectId, b.projectId) ||
    compareText(a.env, b.env) ||
    compareText(a.outcome, b.outcome)
  );
}

const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
