import type { Clock } from '../clock/index.ts';
import { invalidField } from '../errors/index.ts';
import type { UsageRepository } from '../store/usage-repository.ts';
import { bucketCount } from './buckets.ts';
import type { UsageBucket, UsageDimensions, UsageGranularity } from './types.ts';

/** Most buckets one answer may hold: a day of minutes. */
export const MAX_USAGE_BUCKETS = 1440;
export const DEFAULT_USAGE_RANGE_MS = 24 * 3_600_000;

export interface UsageReportRequest extends UsageDimensions {
  /** Default: `to` minus 24 hours. */
  from?: number;
  /** Exclusive. Default: now. */
  to?: number;
  /** Default: `hour`. */
  granularity?: UsageGranularity;
  groupBy?: 'outcome' | null;
}

export interface UsageReport {
  granularity: UsageGranularity;
  from: number;
  to: number;
  /** Buckets starting in `[from, to)` that saw events, oldest first. */
  buckets: UsageBucket[];
}

/**
 * Usage reports from the roll-ups. Field names in errors are the API's query parameters.
 */
export class UsageService {
  readonly #usage: Pick<UsageRepository, 'query'>;
  readonly #clock: Clock;

  constructor(deps: { usage: Pick<UsageRepository, 'query'>; clock: Clock }) {
    this.#usage = deps.usage;
    this.#clock = deps.clock;
  }

  async report(request: UsageReportRequest): Promise<UsageReport> {
    const granularity = request.granularity ?? 'hour';
    const to = request.to ?? this.#clock.now();
    const from = request.from ?? to - DEFAULT_USAGE_RANGE_MS;
    if (from >= to) throw invalidField('query/from', 'must be before `to`');
    const buckets = bucketCount(from, to, granularity);
    if (buckets > MAX_USAGE_BUCKETS) {
      throw invalidField(
        'query/granularity',
        `the range holds ${buckets} ${granularity} buckets; at most ${MAX_USAGE_BUCKETS} per answer: narrow the range or use a coarser granularity`,
      );
    }
    const { keyId, ownerId, projectId, env, outcome, groupBy } = request;
    return {
      granularity,
      from,
      to,
      buckets: await this.#usage.query({
        keyId,
        ownerId,
        projectId,
        env,
        outcome,
        from,
        to,
        granularity,
        groupBy: groupBy ?? null,
      }),
    };
  }
}
