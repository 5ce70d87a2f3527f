import { applyRefill, assertValidCredits, creditsRetryAfterMs, decideCredits } from './credits.ts';
import {
  assertValidCost,
  assertValidRule,
  type GcraResult,
  gcra,
  gcraChecked,
  type Tat,
} from './gcra.ts';
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
  /** Each (subject, rule) to check and spend from, in request order. */
  limits: ReadonlyArray<{ subject: string; rule: RateLimitRule }>;
  /** The stored state of each limit, index for index; null when the backend has none (fresh). */
  tats: ReadonlyArray<Tat | null>;
  /**
   * `limitStateKey` of each limit, index for index, when the backend already has them (it
   * needed them to read the states): saves working them out twice.
   */
  keys?: readonly string[];
  /** The credits with their current state (the backend's, else the stored `initial`). */
  credits: { subject: string; config: CreditsConfig; state: CreditsState } | null;
  cost: number;
}

export interface DecideOutcome {
  decision: LimitDecision;
  /**
   * The state of each limit after the request, index for index, to be written in that order
   * (a limit listed twice: the later entry holds its final state). Empty unless allowed with
   * cost > 0: a denial or a cost-0 check changes nothing.
   */
  tats: readonly Tat[];
  /** The credits state to write (refilled, and spent when allowed); null without credits. */
  credits: CreditsState | null;
}

/**
 * The identity of one rate-limit state. The rule's limit and window are part of it: when an
 * operator changes a rule, the subject starts a fresh bucket under the new rule (and the old
 * state goes idle and is evicted), instead of reinterpreting a tat measured in another T.
 *
 * Asked for on every limited request with the same (subject, rule) again and again: the text
 * is remembered per rule object (checked against the rule's values, in case it was changed in
 * place), so the hot path neither builds it nor makes the Map hash a new string.
 */
export function limitStateKey(subject: string, rule: RateLimitRule): string {
  let memo = stateKeys.get(rule);
  if (
    memo === undefined ||
    memo.name !== rule.name ||
    memo.limit !== rule.limit ||
    memo.windowSeconds !== rule.windowSeconds
  ) {
    memo = {
      name: rule.name,
      limit: rule.limit,
      windowSeconds: rule.windowSeconds,
      keys: new Map(),
    };
    stateKeys.set(rule, memo);
  }
  let key = memo.keys.get(subject);
  if (key === undefined) {
    key = JSON.stringify([subject, rule.name, rule.limit, rule.windowSeconds]);
    // A project's default rule serves all of its keys: keep the memo bounded all the same.
    if (memo.keys.size >= MAX_MEMO_SUBJECTS) memo.keys.clear();
    memo.keys.set(subject, key);
  }
  return key;
}

interface StateKeyMemo {
  name: string;
  limit: number;
  windowSeconds: number;
  keys: Map<string, string>;
}

const stateKeys = new WeakMap<RateLimitRule, StateKeyMemo>();
const MAX_MEMO_SUBJECTS = 1024;

export function decideLimits(input: DecideInput, nowMs: number): DecideOutcome {
  const { cost, limits, tats } = input;
  assertValidCost(cost);
  if (tats.length !== limits.length) throw new RangeError('one stored state per limit expected');
  for (const { rule } of limits) assertValidRule(rule);
  if (input.credits) assertValidCredits(input.credits.config, input.credits.state);

  // Spend in request order, each (subject, rule) from its state as the earlier entries left
  // it, so that one listed twice is charged twice, exactly as two sequential requests would
  // be. (A denied entry's newTat is equivalent to its old state.)
  const keys = input.keys ?? limits.map(({ subject, rule }) => limitStateKey(subject, rule));
  // Each limit's state after this request, and its level for the answer: built as the rules
  // are spent, and dropped if any of them (or the credits) denies.
  const after = new Array<Tat>(limits.length);
  const results = new Array<LimitResult>(limits.length);
  let denied = false;
  let retryAfterSeconds: number | null = 0;
  for (let i = 0; i < limits.length; i++) {
    const { subject, rule } = limits[i]!;
    let tat = tats[i]!;
    for (let j = i - 1; j >= 0; j--) {
      if (keys[j] === keys[i]) {
        tat = after[j]!;
        break;
      }
    }
    const result = gcraChecked(tat, nowMs, cost, rule);
    after[i] = result.newTat;
    results[i] = toResult(subject, rule, result);
    if (result.allowed) continue;
    denied = true;
    // The longest wait over the denying rules; null (never) wins.
    retryAfterSeconds =
      result.retryAfterMs === null || retryAfterSeconds === null
        ? null
        : Math.max(retryAfterSeconds, ceilSeconds(result.retryAfterMs));
  }

  const credits = input.credits
    ? applyRefill(input.credits.state, input.credits.config, nowMs)
    : null;
  const creditsView = credits ? { remaining: credits.remaining } : null;

  if (denied) {
    return {
      decision: {
        allowed: false,
        code: 'RATE_LIMITED',
        limits: levelsUnchanged(input, nowMs),
        retryAfterSeconds,
        credits: creditsView,
      },
      tats: NOTHING_SPENT,
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
          limits: levelsUnchanged(input, nowMs),
          retryAfterSeconds: waitMs === null ? null : ceilSeconds(waitMs),
          credits: creditsView,
        },
        tats: NOTHING_SPENT,
        credits,
      };
    }
    creditsAfter = spend.state;
  }

  return {
    decision: {
      allowed: true,
      code: 'VALID',
      limits: results,
      retryAfterSeconds: null,
      credits: creditsAfter ? { remaining: creditsAfter.remaining } : null,
    },
    tats: cost > 0 ? after : NOTHING_SPENT,
    credits: creditsAfter,
  };
}

/** Each limit's level as it stands, for a denial (which spends nothing). */
function levelsUnchanged(input: DecideInput, nowMs: number): LimitResult[] {
  return input.limits.map(({ subject, rule }, i) =>
    toResult(subject, rule, gcra(input.tats[i]!, nowMs, 0, rule)),
  );
}

/** Shared by every answer that writes no state. */
const NOTHING_SPENT: readonly Tat[] = Object.freeze([]);

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
