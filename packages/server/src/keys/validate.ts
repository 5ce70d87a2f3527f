import { isValidScope } from '@keywarden/core';
import { invalidField } from '../errors/index.ts';
import {
  BUDGET_PERIODS,
  type BudgetPeriod,
  type BudgetRule,
  type CreditsRefill,
  invalidCreditsReason,
  invalidRuleReason,
  type RateLimitRule,
} from '../limiter/index.ts';
import { microsToUnits, unitsToMicros } from '../money/index.ts';
import { isValidCidr } from '../netaddr/index.ts';
import { jsonTextFault, textFault } from '../redaction/index.ts';

/**
 * Checks the HTTP schema cannot express (grammar of scopes and CIDRs, times relative to
 * now, the project's environments). Shared by the API and the CLI's direct commands, so a
 * bad value gets the same answer, naming the same field, on every path.
 */
export const MAX_META_BYTES = 8 * 1024;

export function validateScopes(scopes: readonly string[]): void {
  scopes.forEach((scope, i) => {
    if (!isValidScope(scope)) {
      throw invalidField(
        `/scopes/${i}`,
        `"${scope.slice(0, 40)}" is not a scope (resource:read|write|admin)`,
      );
    }
  });
}

export function validateAllowedIps(cidrs: readonly string[]): void {
  cidrs.forEach((cidr, i) => {
    if (!isValidCidr(cidr))
      throw invalidField(`/allowedIps/${i}`, 'not an IP address or CIDR range');
  });
}

export function validateExpiry(expiresAt: number | null | undefined, nowMs: number): void {
  if (expiresAt !== null && expiresAt !== undefined && expiresAt <= nowMs) {
    throw invalidField('/expiresAt', 'must be in the future');
  }
}

export function validateMeta(meta: Record<string, unknown> | undefined): void {
  if (meta === undefined) return;
  if (Buffer.byteLength(JSON.stringify(meta)) > MAX_META_BYTES) {
    throw invalidField('/meta', `must be at most ${MAX_META_BYTES} bytes as JSON`);
  }
  const fault = jsonTextFault(meta);
  if (fault) throw invalidField(`/meta${fault.pointer}`, fault.message);
}

/**
 * A key's text fields (redaction/text-policy.ts): the name is a display name (redacted on
 * the way in), the owner id an identifier (stored as given, so a key in it is refused).
 */
export function validateKeyText(input: { name?: string; ownerId?: string | null }): void {
  for (const [field, value, kind] of [
    ['/name', input.name, 'name'],
    ['/ownerId', input.ownerId, 'identifier'],
  ] as const) {
    if (typeof value !== 'string') continue;
    const fault = textFault(value, kind);
    if (fault) throw invalidField(field, fault);
  }
}

export function validateEnvironment(env: string, allowed: readonly string[]): void {
  if (!allowed.includes(env)) {
    throw invalidField('/env', `must be one of the project's environments: ${allowed.join(', ')}`);
  }
}

/** Parses an ISO 8601 timestamp from the API into epoch milliseconds. */
export function parseTimestamp(
  field: string,
  text: string | null | undefined,
): number | null | undefined {
  if (text === null || text === undefined) return text;
  const ms = Date.parse(text);
  if (!Number.isFinite(ms)) throw invalidField(field, 'must be an ISO 8601 date-time');
  return ms;
}

export const RATE_LIMIT_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;
/** `requests` (the default) is spent by every verification; `tokens` only by the gateway. */
export const RATE_LIMIT_UNITS: readonly string[] = ['requests', 'tokens'];

/** Named rate limits: valid rules, unique names. `field` is the JSON pointer of the list. */
export function validateRatelimits(
  field: string,
  rules: readonly RateLimitRule[] | null | undefined,
): void {
  if (!rules) return;
  const names = new Set<string>();
  rules.forEach((rule, i) => {
    if (!RATE_LIMIT_NAME.test(rule.name))
      throw invalidField(`${field}/${i}/name`, 'must match [a-z0-9][a-z0-9_-]{0,31}');
    const reason = invalidRuleReason(rule);
    if (reason) throw invalidField(`${field}/${i}`, reason);
    if (rule.unit !== undefined && !RATE_LIMIT_UNITS.includes(rule.unit))
      throw invalidField(`${field}/${i}/unit`, 'must be "requests" or "tokens"');
    if (names.has(rule.name))
      throw invalidField(`${field}/${i}/name`, `"${rule.name}" is used twice`);
    names.add(rule.name);
  });
}

export interface CreditsInput {
  remaining: number;
  refill?: CreditsRefill | null;
}

export function validateCredits(
  field: string,
  credits: CreditsInput | null | undefined,
  nowMs: number,
): void {
  if (!credits) return;
  const reason = invalidCreditsReason(
    { refill: credits.refill ?? null },
    { remaining: credits.remaining, lastRefillAt: nowMs },
  );
  if (reason) throw invalidField(field, reason);
}

/** Gateway model allowlists: exact names or `*` patterns (`gpt-4o*`, `openai/*`). */
export const MODEL_PATTERN = /^[A-Za-z0-9._:/*-]{1,128}$/;
export const MAX_MODELS = 100;

/** null: any model. A list is never empty: "no model" is a key without the scope. */
export function validateModels(field: string, models: readonly string[] | null | undefined): void {
  if (models === null || models === undefined) return;
  if (models.length === 0 || models.length > MAX_MODELS)
    throw invalidField(field, `must hold 1–${MAX_MODELS} models, or be null for any model`);
  models.forEach((model, i) => {
    if (!MODEL_PATTERN.test(model))
      throw invalidField(`${field}/${i}`, 'must match [A-Za-z0-9._:/*-]{1,128}');
  });
}

/** A budget as the API takes and shows it: `amount` in currency units, ≤ 6 decimals. */
export interface BudgetInput {
  name: string;
  amount: number;
  period: BudgetPeriod;
}

export const MAX_BUDGETS = 10;
/** A billion currency units: far above any real budget, far below 2^53 micros. */
export const MAX_BUDGET_AMOUNT = 1_000_000_000;

/**
 * Validates budgets and converts them to stored rules (integer micros). `undefined` stays
 * `undefined` (not given), null stays null (none).
 */
export function budgetRulesFrom(
  field: string,
  budgets: readonly BudgetInput[] | null | undefined,
): BudgetRule[] | null | undefined {
  if (budgets === null || budgets === undefined) return budgets;
  if (budgets.length > MAX_BUDGETS)
    throw invalidField(field, `must hold at most ${MAX_BUDGETS} budgets`);
  const names = new Set<string>();
  return budgets.map((budget, i) => {
    if (!RATE_LIMIT_NAME.test(budget.name))
      throw invalidField(`${field}/${i}/name`, 'must match [a-z0-9][a-z0-9_-]{0,31}');
    if (names.has(budget.name))
      throw invalidField(`${field}/${i}/name`, `"${budget.name}" is used twice`);
    names.add(budget.name);
    if (!(BUDGET_PERIODS as readonly string[]).includes(budget.period))
      throw invalidField(`${field}/${i}/period`, `must be one of ${BUDGET_PERIODS.join(', ')}`);
    const amountMicros = moneyMicros(`${field}/${i}/amount`, budget.amount, MAX_BUDGET_AMOUNT);
    if (amountMicros === 0) throw invalidField(`${field}/${i}/amount`, 'must be more than 0');
    return { name: budget.name, amountMicros, period: budget.period };
  });
}

/** Stored budgets → the API's shape (amounts back in currency units). */
export function budgetsToInput(budgets: readonly BudgetRule[] | null): BudgetInput[] | null {
  return (
    budgets?.map((b) => ({
      name: b.name,
      amount: microsToUnits(b.amountMicros),
      period: b.period,
    })) ?? null
  );
}

/** A money amount in currency units → integer micros, or a 400 naming `field`. */
export function moneyMicros(field: string, amount: number, max: number): number {
  if (typeof amount !== 'number' || !Number.isFinite(amount) || amount < 0 || amount > max)
    throw invalidField(field, `must be a number from 0 to ${max}`);
  const micros = unitsToMicros(amount);
  if (micros === null) throw invalidField(field, 'must have at most 6 decimal places');
  return micros;
}
