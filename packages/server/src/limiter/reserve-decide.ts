import { assertValidBudget, budgetPeriodEnd, budgetPeriodStart, budgetStateKey } from './budget.ts';
import { limitStateKey } from './decide.ts';
import { adjustTat, assertValidRule, type GcraResult, gcra, type Tat } from './gcra.ts';
import type {
  BudgetResult,
  BudgetRule,
  LimitResult,
  RateLimitRule,
  Reservation,
  ReserveDecision,
  SettleActual,
} from './types.ts';

/**
 * The gateway's reserve → settle as pure functions of (states, now, request), so that every
 * backend applies the same rule and only makes "read → decide → write" atomic.
 *
 * reserve, all or nothing: if any token limit denies the estimate → RATE_LIMITED and nothing
 * is spent; else if any budget has `spent + costMicros > amountMicros` → BUDGET_EXCEEDED and
 * nothing is spent; else every token limit (GCRA, cost = tokens) and every budget (spent +=
 * costMicros) is charged, and the reservation records where.
 *
 * settle: as if the reservation had been for the actual figures — the token tats move by the
 * difference (`adjustTat`: never fuller than full, extra charged as a debt) and each budget
 * held gets `actual − reserved`, never below 0, in the period the reservation was made in.
 */

export interface ReserveInput {
  /** Each token limit with its stored tat; null when the backend has none (a full bucket). */
  tokenLimits: ReadonlyArray<{ subject: string; rule: RateLimitRule; tat: Tat | null }>;
  tokens: number;
  /** Each budget with what its state for the period containing `nowMs` has spent. */
  budgets: ReadonlyArray<{ subject: string; rule: BudgetRule; spent: number }>;
  costMicros: number;
}

export interface ReserveOutcome {
  decision: ReserveDecision;
  /** Token states to write, by `limitStateKey`; empty unless allowed with tokens > 0. */
  tats: Map<string, Tat>;
  /** Budget states to write, by `budgetStateKey`; empty unless allowed. */
  spent: Map<string, number>;
}

export interface SettleInput {
  /** The reservation's token limits (in its order) with their current tat. */
  tokenLimits: ReadonlyArray<{ subject: string; rule: RateLimitRule; tat: Tat | null }>;
  /** The reservation's budgets with their current spent; null when the state is not held. */
  budgets: ReadonlyArray<{
    subject: string;
    rule: BudgetRule;
    periodStartMs: number;
    spent: number | null;
  }>;
  reserved: { tokens: number; costMicros: number };
  actual: SettleActual;
}

export interface SettleOutcome {
  /** Token states to write by `limitStateKey`; null: delete (the bucket is full). */
  tats: Map<string, Tat | null>;
  /** Budget states to write by `budgetStateKey` (only states that are held). */
  spent: Map<string, number>;
}

/** What a reserve request and a reservation have in common. */
export interface ReserveShape {
  tokenLimits: ReadonlyArray<{ subject: string; rule: RateLimitRule }>;
  tokens: number;
  budgets: ReadonlyArray<{ subject: string; rule: BudgetRule }>;
  costMicros: number;
}

/** Rejects (RangeError) what no backend may store: bad rules, estimates or states. */
export function assertValidReserveRequest(request: ReserveShape): void {
  assertValidAmount('tokens', request.tokens);
  assertValidAmount('costMicros', request.costMicros);
  for (const { subject, rule } of request.tokenLimits) {
    assertValidSubject(subject);
    assertValidRule(rule);
  }
  for (const { subject, rule } of request.budgets) {
    assertValidSubject(subject);
    assertValidBudget(rule);
  }
}

export function assertValidActual(actual: SettleActual): void {
  assertValidAmount('actual.tokens', actual.tokens);
  assertValidAmount('actual.costMicros', actual.costMicros);
}

export function decideReserve(input: ReserveInput, nowMs: number): ReserveOutcome {
  assertValidReserveRequest(input);
  for (const { spent } of input.budgets) assertValidAmount('a budget state', spent);
  const { tokens, costMicros } = input;

  // Spend against scratch copies, in request order: a state listed twice is charged twice.
  const tatKeys = input.tokenLimits.map(({ subject, rule }) => limitStateKey(subject, rule));
  const tats = new Map<string, Tat | null>();
  input.tokenLimits.forEach(({ tat }, i) => {
    if (!tats.has(tatKeys[i]!)) tats.set(tatKeys[i]!, tat);
  });
  const charged = input.tokenLimits.map(({ rule }, i): GcraResult => {
    const result = gcra(tats.get(tatKeys[i]!) ?? null, nowMs, tokens, rule);
    if (result.allowed) tats.set(tatKeys[i]!, result.newTat);
    return result;
  });
  const unchangedLimits = (): LimitResult[] =>
    input.tokenLimits.map(({ subject, rule, tat }) =>
      toLimitResult(subject, rule, gcra(tat, nowMs, 0, rule)),
    );
  const unchangedBudgets = (): BudgetResult[] =>
    input.budgets.map(({ subject, rule, spent }) => toBudgetResult(subject, rule, spent, nowMs));
  const denied = (code: ReserveDecision['code'], waits: Array<number | null>): ReserveOutcome => ({
    decision: {
      allowed: false,
      code,
      tokenLimits: unchangedLimits(),
      budgets: unchangedBudgets(),
      retryAfterSeconds: waits.includes(null)
        ? null
        : Math.max(...waits.map((ms) => ceilSeconds(ms ?? 0))),
      reservation: null,
    },
    tats: new Map(),
    spent: new Map(),
  });

  const rateDenied = charged.filter((result) => !result.allowed);
  if (rateDenied.length > 0) {
    return denied(
      'RATE_LIMITED',
      rateDenied.map((result) => result.retryAfterMs),
    );
  }

  const budgetKeys = input.budgets.map(({ subject, rule }) =>
    budgetStateKey(subject, rule, budgetPeriodStart(rule.period, nowMs)),
  );
  const spent = new Map<string, number>();
  input.budgets.forEach(({ spent: held }, i) => {
    if (!spent.has(budgetKeys[i]!)) spent.set(budgetKeys[i]!, held);
  });
  const waits: Array<number | null> = [];
  const after = input.budgets.map(({ rule }, i) => {
    const before = spent.get(budgetKeys[i]!)!;
    // Compared as a difference: exact for any two safe integers.
    if (costMicros > rule.amountMicros - before) {
      const end = budgetPeriodEnd(rule.period, nowMs);
      waits.push(end === null || costMicros > rule.amountMicros ? null : end - nowMs);
      return before;
    }
    spent.set(budgetKeys[i]!, before + costMicros);
    return before + costMicros;
  });
  if (waits.length > 0) return denied('BUDGET_EXCEEDED', waits);

  const written = new Map<string, Tat>();
  if (tokens > 0) {
    for (const [key, tat] of tats) if (tat !== null) written.set(key, tat);
  }
  const reservation: Reservation = {
    tokenLimits: input.tokenLimits.map(({ subject, rule }) => ({ subject, rule })),
    tokens,
    budgets: input.budgets.map(({ subject, rule }) => ({
      subject,
      rule,
      periodStartMs: budgetPeriodStart(rule.period, nowMs),
    })),
    costMicros,
  };
  return {
    decision: {
      allowed: true,
      code: 'VALID',
      tokenLimits: input.tokenLimits.map(({ subject, rule }, i) =>
        toLimitResult(subject, rule, charged[i]!),
      ),
      budgets: input.budgets.map(({ subject, rule }, i) =>
        toBudgetResult(subject, rule, after[i]!, nowMs),
      ),
      retryAfterSeconds: null,
      reservation,
    },
    tats: written,
    spent,
  };
}

export function decideSettle(input: SettleInput, nowMs: number): SettleOutcome {
  assertValidActual(input.actual);
  const tokenDelta = input.actual.tokens - input.reserved.tokens;
  const costDelta = input.actual.costMicros - input.reserved.costMicros;

  const tats = new Map<string, Tat | null>();
  for (const { subject, rule, tat } of input.tokenLimits) {
    const key = limitStateKey(subject, rule);
    // Listed twice, charged twice at reserve: adjusted twice, from the scratch value.
    const current = tats.has(key) ? (tats.get(key) ?? null) : tat;
    tats.set(key, adjustTat(current, nowMs, tokenDelta, rule));
  }
  const spent = new Map<string, number>();
  for (const { subject, rule, periodStartMs, spent: held } of input.budgets) {
    if (held === null) continue; // forgotten: reloading from the store counts the real spend
    const key = budgetStateKey(subject, rule, periodStartMs);
    spent.set(key, settleSpent(spent.get(key) ?? held, costDelta));
  }
  return { tats, spent };
}

/** `spent + delta`, never below 0 and never past 2^53 − 1. */
export function settleSpent(spent: number, delta: number): number {
  return Math.min(Number.MAX_SAFE_INTEGER, Math.max(0, spent + delta));
}

function toLimitResult(subject: string, rule: RateLimitRule, result: GcraResult): LimitResult {
  return {
    subject,
    name: rule.name,
    limit: rule.limit,
    windowSeconds: rule.windowSeconds,
    remaining: result.remaining,
    resetSeconds: ceilSeconds(result.resetMs),
  };
}

function toBudgetResult(
  subject: string,
  rule: BudgetRule,
  spentMicros: number,
  nowMs: number,
): BudgetResult {
  const end = budgetPeriodEnd(rule.period, nowMs);
  return {
    subject,
    name: rule.name,
    amountMicros: rule.amountMicros,
    period: rule.period,
    spentMicros,
    remainingMicros: Math.max(0, rule.amountMicros - spentMicros),
    resetSeconds: end === null ? null : ceilSeconds(end - nowMs),
  };
}

function assertValidAmount(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative integer, got ${String(value)}`);
  }
}

function assertValidSubject(subject: string): void {
  if (typeof subject !== 'string' || subject.length === 0) {
    throw new RangeError('a subject must be a non-empty string');
  }
}

function ceilSeconds(ms: number): number {
  return Math.ceil(ms / 1000);
}
