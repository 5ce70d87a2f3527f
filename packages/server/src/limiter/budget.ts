import { BUDGET_PERIODS, type BudgetPeriod, type BudgetRule } from './types.ts';

/**
 * Money budgets: their calendar periods (UTC), their validation and the identity of their
 * state, as pure functions shared by the decision and every backend.
 *
 * A period is a half-open interval [start, end): the last ms of a month belongs to it, the
 * first ms of the next month to the next. Weeks start on Monday 00:00 UTC (ISO 8601).
 * `total` starts at the epoch (0) and never ends (end null).
 */

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** 1970-01-01 was a Thursday: day 0 is 3 days after a Monday. */
const EPOCH_WEEKDAY_FROM_MONDAY = 3;

/** Why a budget cannot be used, or null when it is valid. For the API's input validation. */
export function invalidBudgetReason(rule: BudgetRule): string | null {
  if (typeof rule.name !== 'string' || rule.name.length === 0) {
    return 'name must be a non-empty string';
  }
  if (!Number.isSafeInteger(rule.amountMicros) || rule.amountMicros < 1) {
    return 'amountMicros must be a positive integer';
  }
  if (!(BUDGET_PERIODS as readonly string[]).includes(rule.period)) {
    return `period must be one of ${BUDGET_PERIODS.join(', ')}`;
  }
  return null;
}

export function assertValidBudget(rule: BudgetRule): void {
  const reason = invalidBudgetReason(rule);
  if (reason !== null) throw new RangeError(`invalid budget "${String(rule.name)}": ${reason}`);
}

/** Epoch ms at which the period containing `nowMs` started (`total`: 0). */
export function budgetPeriodStart(period: BudgetPeriod, nowMs: number): number {
  switch (period) {
    case 'hour':
      return nowMs - mod(nowMs, HOUR_MS);
    case 'day':
      return nowMs - mod(nowMs, DAY_MS);
    case 'week': {
      const dayStart = nowMs - mod(nowMs, DAY_MS);
      const days = dayStart / DAY_MS;
      return dayStart - mod(days + EPOCH_WEEKDAY_FROM_MONDAY, 7) * DAY_MS;
    }
    case 'month': {
      const date = new Date(nowMs);
      return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
    }
    case 'total':
      return 0;
  }
}

/** Epoch ms at which the period containing `nowMs` ends (exclusive); null for `total`. */
export function budgetPeriodEnd(period: BudgetPeriod, nowMs: number): number | null {
  const start = budgetPeriodStart(period, nowMs);
  switch (period) {
    case 'hour':
      return start + HOUR_MS;
    case 'day':
      return start + DAY_MS;
    case 'week':
      return start + 7 * DAY_MS;
    case 'month': {
      const date = new Date(start);
      return Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1);
    }
    case 'total':
      return null;
  }
}

/**
 * The identity of one budget state: subject, name, period and the period's start — not the
 * amount, so that raising or lowering a budget keeps what was spent in the period.
 */
export function budgetStateKey(subject: string, rule: BudgetRule, periodStartMs: number): string {
  return JSON.stringify([subject, rule.name, rule.period, periodStartMs]);
}

/** `loadSpent` failed or answered something that is not a non-negative safe integer. */
export class BudgetLoadError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BudgetLoadError';
  }
}

/** Validates what `loadSpent` answered (a store is outside this folder's control). */
export function checkLoadedSpent(spent: unknown, subject: string, rule: BudgetRule): number {
  if (typeof spent !== 'number' || !Number.isSafeInteger(spent) || spent < 0) {
    throw new BudgetLoadError(
      `loadSpent(${subject}, ${rule.name}) must resolve to a non-negative integer, got ${String(spent)}`,
    );
  }
  return spent;
}

function mod(n: number, d: number): number {
  return ((n % d) + d) % d;
}

/** Calls `loadSpent` and checks its answer; any failure becomes a `BudgetLoadError`. */
export async function loadBudgetSpent(
  loadSpent: (subject: string, rule: BudgetRule, periodStartMs: number) => Promise<number>,
  subject: string,
  rule: BudgetRule,
  periodStartMs: number,
): Promise<number> {
  let spent: unknown;
  try {
    spent = await loadSpent(subject, rule, periodStartMs);
  } catch (error) {
    throw new BudgetLoadError(`loadSpent(${subject}, ${rule.name}) failed`, { cause: error });
  }
  return checkLoadedSpent(spent, subject, rule);
}
