import type { BudgetResult } from '../limiter/index.ts';
import { formatUsd } from '../money/index.ts';

/**
 * What a refused gateway request is told, in words a user can act on. Pure: the gateway
 * passes what it decided with.
 */

export interface ReservationFacts {
  /** What the request reserved: its prompt plus the most output it allows, priced. */
  costMicros: number;
  /** The output tokens that went into the reservation. */
  outputTokens: number;
  /** True when the request set no output limit and the configured default was reserved. */
  defaultOutput: boolean;
}

const dollars = (micros: number) => `$${formatUsd(micros, 4)}`;
const tokens = (n: number) => n.toLocaleString('en-US');

/**
 * A budget refusal names the budget and says which of the two it is: the budget is spent, or
 * it has money left but less than this request reserves. A request reserves what it can
 * cost at most, so that concurrent requests never pass a budget by more than rounding; the
 * second case is fixed by asking for fewer output tokens, and the message says so.
 */
export function budgetRefusal(budgets: readonly BudgetResult[], request: ReservationFacts): string {
  // The decision reports each budget as it was before the request: the first one the
  // reservation does not fit in is the one that refused.
  const refusing =
    budgets.find((b) => b.spentMicros + request.costMicros > b.amountMicros) ?? budgets[0];
  if (!refusing) return 'a budget allows no more';
  const whose = refusing.subject.startsWith('owner:') ? "the owner's budget" : 'the budget';
  const name = `${whose} "${refusing.name}"`;
  const period =
    refusing.period === 'total' ? 'in total (it never resets)' : `this ${refusing.period}`;
  const resets =
    refusing.resetSeconds === null ? '' : `; it resets in ${formatSeconds(refusing.resetSeconds)}`;
  if (refusing.remainingMicros <= 0)
    return `${name} is spent: ${dollars(refusing.spentMicros)} of ${dollars(refusing.amountMicros)} used ${period}${resets}`;
  const output = request.defaultOutput
    ? `${tokens(request.outputTokens)} output tokens (the default when the request sets no max_tokens)`
    : `${tokens(request.outputTokens)} output tokens`;
  const fix =
    request.costMicros > refusing.amountMicros
      ? `this request can never fit in ${dollars(refusing.amountMicros)}: set max_tokens (max_output_tokens for responses) lower, or raise the budget`
      : 'set max_tokens (max_output_tokens for responses) lower so that the reservation fits; the unused part of a reservation is given back after the answer';
  return (
    `this request reserves up to ${dollars(request.costMicros)} for its prompt and ${output}; ` +
    `${name} has ${dollars(refusing.remainingMicros)} left of ${dollars(refusing.amountMicros)} ${period}${resets}; ${fix}`
  );
}

/**
 * Warnings for budgets too small for one request that sets no max_tokens: every such request
 * reserves the configured default output and would be refused, which looks like a spent
 * budget on a fresh key. `cheapest` is the smallest such reservation among the models the
 * key may call (pricing.ts `cheapestReservation`).
 */
export function smallBudgetWarnings(
  budgets: ReadonlyArray<{ name: string; amountMicros: number }> | null,
  cheapest: { model: string; costMicros: number } | null,
  outputTokens: number,
): string[] {
  if (!budgets || !cheapest) return [];
  return budgets
    .filter((budget) => budget.amountMicros < cheapest.costMicros)
    .map(
      (budget) =>
        `budget "${budget.name}" (${dollars(budget.amountMicros)}) is less than what one request without max_tokens reserves: ` +
        `${tokens(outputTokens)} output tokens of ${cheapest.model}, the cheapest model allowed, reserve ${dollars(cheapest.costMicros)}. ` +
        'Such requests will be refused; requests that set max_tokens low enough pass',
    );
}

/** A budgeted key called a model without a price: what to do about it. */
export function unpricedModelRefusal(model: string | null, upstream: string): string {
  const shown = model ?? '(no model)';
  return (
    `"${shown}" has no price, and a budget can only be kept for a priced model. ` +
    `Add its price (dollars per million input and output tokens): ` +
    `keywarden upstreams update ${upstream} --price ${model ?? 'MODEL'}=INPUT,OUTPUT, ` +
    'or an entry in KEYWARDEN_PRICES_FILE; `keywarden prices` lists the built-in ones'
  );
}

function formatSeconds(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.ceil(seconds / 60)} min`;
  if (seconds < 172_800) return `${Math.ceil(seconds / 3600)} h`;
  return `${Math.ceil(seconds / 86_400)} days`;
}
