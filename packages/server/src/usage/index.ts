export type { UsageRepository } from '../store/usage-repository.ts';
export { type UsageBatch, UsageBatchBuilder, usageBatchOf, usageEventsOf } from './batch.ts';
export { bucketCount, bucketStart, bucketStarts, GRANULARITY_MS } from './buckets.ts';
export { groupUsageEvents, type UsageEventGroup } from './group.ts';
export {
  type UsageBatchWriter,
  UsageRecorder,
  type UsageRecorderOptions,
  type UsageRecorderStats,
  type UsageSink,
} from './recorder.ts';
export { NO_DIMENSION, rollUp, type UsageRollupDelta } from './rollup.ts';
export {
  DEFAULT_USAGE_RANGE_MS,
  MAX_USAGE_BUCKETS,
  type UsageReport,
  type UsageReportRequest,
  UsageService,
} from './service.ts';
export { renderSparkline, renderUsageChart, type UsageChartInput } from './sparkline.ts';
export { USAGE_TEXT_MAX, usageText } from './text.ts';
export type * from './types.ts';
export { USAGE_GRANULARITIES } from './types.ts';
