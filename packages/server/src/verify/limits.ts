import type { LimitRequest, RateLimitRule } from '../limiter/index.ts';
import type { KeyRecord, OwnerRecord, ProjectRecord, StoredCredits } from '../store/index.ts';

/**
 * Which limits and credits apply to a request, as plain data for the limiter:
 * - the key's own rate limits, or, when it has none of its own (null), its project's
 *   defaults for its environment (then the project's `*` defaults);
 * - plus its owner's rate limits, shared by all of the owner's keys;
 * - credits: the key's own if it has any, else its owner's.
 * Rules counted in `tokens` are the gateway's (it reserves and settles token counts itself):
 * a verification spends only `requests` rules.
 */
export const keySubject = (keyId: string) => `key:${keyId}`;
export const ownerSubject = (ownerId: string) => `owner:${ownerId}`;

type RuleUnit = NonNullable<RateLimitRule['unit']>;

/** The rules of one unit; the list itself (no copy) in the common case where all are of it. */
export function rulesOfUnit(rules: RateLimitRule[], unit: RuleUnit): RateLimitRule[] {
  for (const rule of rules) {
    if ((rule.unit ?? 'requests') !== unit)
      return rules.filter((r) => (r.unit ?? 'requests') === unit);
  }
  return rules;
}

export function effectiveKeyRules(
  key: KeyRecord,
  project: ProjectRecord,
  unit: RuleUnit = 'requests',
): RateLimitRule[] {
  return rulesOfUnit(
    key.ratelimits ?? project.ratelimitDefaults[key.env] ?? project.ratelimitDefaults['*'] ?? [],
    unit,
  );
}

function creditsRequest(subject: string, credits: StoredCredits) {
  return {
    subject,
    config: { refill: credits.refill },
    initial: { remaining: credits.remaining, lastRefillAt: credits.refilledAt },
  };
}

/**
 * What applies to a request with this key, project and owner, but its cost: the same for every
 * request until one of the three records is replaced (records are never changed in place:
 * an update loads a new one), so it is worked out once per key record and reused.
 */
type LimitPlan = Omit<LimitRequest, 'cost'>;
const plans = new WeakMap<
  KeyRecord,
  { project: ProjectRecord; owner: OwnerRecord | null; plan: LimitPlan | null }
>();

export function limitRequestFor(
  key: KeyRecord,
  project: ProjectRecord,
  owner: OwnerRecord | null,
  cost: number,
): LimitRequest | null {
  let memo = plans.get(key);
  if (memo === undefined || memo.project !== project || memo.owner !== owner) {
    memo = { project, owner, plan: limitPlanFor(key, project, owner) };
    plans.set(key, memo);
  }
  const { plan } = memo;
  return plan && { limits: plan.limits, credits: plan.credits, cost };
}

function limitPlanFor(
  key: KeyRecord,
  project: ProjectRecord,
  owner: OwnerRecord | null,
): LimitPlan | null {
  const rules = effectiveKeyRules(key, project);
  if (rules.length === 0 && !owner?.ratelimits?.length && !key.credits && !owner?.credits)
    return null;
  const limits = rules.map((rule) => ({ subject: keySubject(key.id), rule }));
  if (owner?.ratelimits) {
    for (const rule of owner.ratelimits) {
      if ((rule.unit ?? 'requests') === 'requests')
        limits.push({ subject: ownerSubject(owner.id), rule });
    }
  }
  const credits = key.credits
    ? creditsRequest(keySubject(key.id), key.credits)
    : owner?.credits
      ? creditsRequest(ownerSubject(owner.id), owner.credits)
      : null;
  if (limits.length === 0 && !credits) return null;
  return { limits, credits };
}
