import { bucketStart } from './buckets.ts';
import { USAGE_GRANULARITIES, type UsageEvent, type UsageGranularity } from './types.ts';

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
  latencyMsSum: number;
}

/** The roll-up dimension value for a nullable event field. */
export const NO_DIMENSION = '';

/**
 * Aggregates a batch in memory, so that each roll-up row is upserted once per batch (one
 * statement may not touch a row twice on PostgreSQL). The result is sorted by its unique key:
 * every node then locks roll-up rows in the same order, so concurrent batches cannot deadlock.
 */
export function rollUp(events: readonly UsageEvent[]): UsageRollupDelta[] {
  const deltas = new Map<string, UsageRollupDelta>();
  for (const event of events) {
    for (const granularity of USAGE_GRANULARITIES) {
      const start = bucketStart(event.at, granularity);
      const keyId = event.keyId ?? NO_DIMENSION;
      const ownerId = event.ownerId ?? NO_DIMENSION;
      const projectId = event.projectId ?? NO_DIMENSION;
      const env = event.env ?? NO_DIMENSION;
      const id = [granularity, start, keyId, ownerId, projectId, env, event.outcome].join('\u0000');
      let delta = deltas.get(id);
      if (!delta) {
        delta = {
          granularity,
          bucketStart: start,
          keyId,
          ownerId,
          projectId,
          env,
          outcome: event.outcome,
          count: 0,
          costSum: 0,
          tokensInSum: 0,
          tokensOutSum: 0,
          costMicrosSum: 0,
          latencyMsSum: 0,
        };
        deltas.set(id, delta);
      }
      delta.count += 1;
      delta.costSum += event.cost;
      delta.tokensInSum += event.tokensIn ?? 0;
      delta.tokensOutSum += event.tokensOut ?? 0;
      delta.costMicrosSum += event.costMicros ?? 0;
      delta.latencyMsSum += event.latencyMs;
    }
  }
  return [...deltas.values()].sort(compareDeltas);
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
