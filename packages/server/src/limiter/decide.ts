import { applyRefill, assertValidCredits, creditsRetryAfterMs, decideCredits } from './credits.ts';
import { assertValidCost, assertValidRule, type GcraResult, gcra, type Tat } from './gcra.ts';
import type {
  CreditsConfig,
  CreditsState,
  LimitDecision,
  LimitResult,
  RateLimitRule,
} from './types.ts';

/**
 * The whole limiter decision as one pure function, so that every backend applies the same
 * rule and only has to make "read states → decide → write states" atomic.
 *
 * All or nothing: if any rate limit denies, the answer is RATE_LIMITED and nothing is spent
 * (no rule's tat moves, no credits); else if the credits do not cover the cost, the answer
 * is QUOTA_EXCEEDED and no rate-limit tokens are spent either; else everything is spent.
 */

export interface DecideInput {
  /** Each (subject, rule) with its stored state; null when the backend has none (fresh). */
  limits: ReadonlyArray<{ subject: string; rule: RateLimitRule; tat: Tat | null }>;
  /** The credits with their current state (the backend's, else the stored `initial`). */
  credits: { subject: string; config: CreditsConfig; state: CreditsState } | null;
  cost: number;
}

export interface DecideOutcome {
  decision: LimitDecision;
  /**
   * Rate-limit states to write, by `limitStateKey`. Empty unless allowed with cost > 0:
   * a denial or a cost-0 check changes nothing.
   */
  tats: Map<string, Tat>;
  /** The credits state to write (refilled, and spent when allowed); null without credits. */
  credits: CreditsState | null;
}

/**
 * The identity of one rate-limit state. The rule's limit and window are part of it: when an
 * operator changes a rule, the subject starts a fresh bucket under the new rule (and the old
 * state goes idle and is evicted), instead of reinterpreting a tat measured in another T.
 */
export function limitStateKey(subject: string, rule: RateLimitRule): string {
  return JSON.stringify([subject, rule.name, rule.limit, rule.windowSeconds]);
}

export function decideLimits(input: DecideInput, nowMs: number): DecideOutcome {
  const { cost } = input;
  assertValidCost(cost);
  for (const { rule } of input.limits) assertValidRule(rule);
  if (input.credits) assertValidCredits(input.credits.config, input.credits.state);

  // Spend against a scratch copy, in request order, so that a (subject, rule) listed twice
  // is charged twice, exactly as two sequential requests would be.
  const keys = input.limits.map(({ subject, rule }) => limitStateKey(subject, rule));
  const scratch = new Map<string, Tat | null>();
  input.limits.forEach(({ tat }, i) => {
    const key = keys[i]!;
    if (!scratch.has(key)) scratch.set(key, tat);
  });
  const spent = input.limits.map(({ rule }, i): GcraResult => {
    const key = keys[i]!;
    const result = gcra(scratch.get(key) ?? null, nowMs, cost, rule);
    if (result.allowed) scratch.set(key, result.newTat);
    return result;
  });

  const credits = input.credits
    ? applyRefill(input.credits.state, input.credits.config, nowMs)
    : null;
  const creditsView = credits ? { remaining: credits.remaining } : null;
  const unchanged = (): LimitResult[] =>
    input.limits.map(({ subject, rule, tat }) =>
      toResult(subject, rule, gcra(tat, nowMs, 0, rule)),
    );

  const denied = spent.filter((result) => !result.allowed);
  if (denied.length > 0) {
    const waits = denied.map((result) => result.retryAfterMs);
    const retryAfterSeconds = waits.includes(null)
      ? null
      : Math.max(...waits.map((ms) => ceilSeconds(ms ?? 0)));
    return {
      decision: {
        allowed: false,
        code: 'RATE_LIMITED',
        limits: unchanged(),
        retryAfterSeconds,
        credits: creditsView,
      },
      tats: new Map(),
      credits,
    };
  }

  let creditsAfter = credits;
  if (credits && input.credits) {
    const spend = decideCredits(credits, cost);
    if (!spend.allowed) {
      const waitMs = creditsRetryAfterMs(credits, input.credits.config, cost, nowMs);
      return {
        decision: {
          allowed: false,
          code: 'QUOTA_EXCEEDED',
          limits: unchanged(),
          retryAfterSeconds: waitMs === null ? null : ceilSeconds(waitMs),
          credits: creditsView,
        },
        tats: new Map(),
        credits,
      };
    }
    creditsAfter = spend.state;
  }

  const tats = new Map<string, Tat>();
  if (cost > 0) {
    for (const [key, tat] of scratch) if (tat !== null) tats.set(key, tat);
  }
  return {
    decision: {
      allowed: true,
      code: 'VALID',
      limits: input.limits.map(({ subject, rule }, i) => toResult(subject, rule, spent[i]!)),
      retryAfterSeconds: null,
      credits: creditsAfter ? { remaining: creditsAfter.remaining } : null,
    },
    tats,
    credits: creditsAfter,
  };
}

function toResult(subject: string, rule: RateLimitRule, result: GcraResult): LimitResult {
  return {
    subject,
    name: rule.name,
    limit: rule.limit,
    windowSeconds: rule.windowSeconds,
    remaining: result.remaining,
    resetSeconds: ceilSeconds(result.resetMs),
  };
}

function ceilSeconds(ms: number): number {
  return Math.ceil(ms / 1000);
}
