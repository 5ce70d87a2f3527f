import type { Keywarden } from '../app/index.ts';
import { cheapestReservation, smallBudgetWarnings } from '../gateway/index.ts';
import type { BudgetRule } from '../limiter/index.ts';

/**
 * `{ warnings }` for a key or owner answer whose budgets are smaller than one request without
 * max_tokens reserves (the configured default output of the cheapest model it may call);
 * nothing when there is nothing to say.
 */
export function budgetWarnings(
  kw: Pick<Keywarden, 'prices' | 'config'>,
  budgets: readonly BudgetRule[] | null,
  models: readonly string[] | null,
): { warnings?: string[] } {
  if (!budgets?.length) return {};
  const outputTokens = kw.config.gateway.defaultMaxOutputTokens;
  const warnings = smallBudgetWarnings(
    budgets,
    cheapestReservation(kw.prices, models, outputTokens),
    outputTokens,
  );
  return warnings.length > 0 ? { warnings } : {};
}
