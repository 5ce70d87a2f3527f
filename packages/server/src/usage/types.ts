import type { VerifyCode } from '../verify/codes.ts';

/**
 * Usage metering: one event per verification, whatever the entry point, and the roll-ups the
 * query API reads. Times are milliseconds since the epoch. No field ever holds a key's
 * plaintext: `route` and `userAgent` are redacted (core's `redactSecrets`) before they are
 * stored.
 */
export type UsageEntryPoint = 'verify' | 'forward-auth' | 'gateway' | 'sdk';

export interface UsageEvent {
  at: number;
  /** Null when no key was found: MISSING, MALFORMED, NOT_FOUND. */
  keyId: string | null;
  projectId: string | null;
  ownerId: string | null;
  env: string | null;
  /** The verification code, e.g. `VALID`, `RATE_LIMITED`. */
  outcome: VerifyCode;
  entryPoint: UsageEntryPoint;
  /** The route the caller asked for (stored redacted, at most 200 characters). */
  route: string | null;
  /** The HTTP status the entry point answered with. */
  status: number;
  latencyMs: number;
  clientIp: string | null;
  /** Stored redacted, at most 200 characters. */
  userAgent: string | null;
  /** Credits the request cost (1 unless the caller says otherwise). */
  cost: number;
  /** Tokens metered by the gateway; null elsewhere. */
  tokensIn: number | null;
  tokensOut: number | null;
  /** Money in millionths of a currency unit (gateway pricing); null when not priced. */
  costMicros: number | null;
  /**
   * A gateway call to a priced endpoint (chat, completions, embeddings, responses) whose
   * model has no price: its tokens are known, its cost is not. Never recorded as $0: sums
   * carry the count of such calls beside the money (`unpriced`). Absent: false.
   */
  unpriced?: boolean;
  /**
   * How many identical events this one stands for (same second, same everything but the
   * latency, which is then their mean): what a usage batch folds a run of repeats into.
   * Absent: one.
   */
  count?: number;
}

/**
 * A stored row, with its insertion-ordered id: `count` identical events of one second (see
 * usage/group.ts; `latencyMs` is their mean), or one event (`count` 1).
 */
export interface StoredUsageEvent extends UsageEvent {
  id: number;
  count: number;
}

export const USAGE_GRANULARITIES = ['minute', 'hour', 'day'] as const;
export type UsageGranularity = (typeof USAGE_GRANULARITIES)[number];

/** Dimensions a usage query may filter on. Undefined means "any". */
export interface UsageDimensions {
  keyId?: string;
  ownerId?: string;
  projectId?: string;
  env?: string;
  outcome?: VerifyCode;
}

export interface UsageQuery extends UsageDimensions {
  /** Inclusive: buckets starting at or after `from`. */
  from: number;
  /** Exclusive: buckets starting before `to`. */
  to: number;
  granularity: UsageGranularity;
  /** `outcome`: one row per bucket and outcome; otherwise one row per bucket. */
  groupBy?: 'outcome' | null;
}

export interface UsageBucket {
  bucketStart: number;
  /** Present only when grouped by outcome. */
  outcome?: VerifyCode;
  count: number;
  cost: number;
  tokensIn: number;
  tokensOut: number;
  costMicros: number;
  /** Calls in the bucket whose cost is unknown (no price for their model): not in `costMicros`. */
  unpriced: number;
  latencyMsAvg: number;
}

export interface UsageEventFilter extends UsageDimensions {
  /** Inclusive. */
  from?: number;
  /** Exclusive. */
  to?: number;
}
