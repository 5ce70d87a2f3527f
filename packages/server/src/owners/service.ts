import { type Actor, auditEntry } from '../audit/index.ts';
import type { Clock } from '../clock/index.ts';
import { invalidField, notFound } from '../errors/index.ts';
import type { InvalidationChannel } from '../invalidation/index.ts';
import {
  type BudgetInput,
  budgetRulesFrom,
  type CreditsInput,
  storedCredits,
  validateCredits,
  validateRatelimits,
} from '../keys/index.ts';
import type { RateLimitRule } from '../limiter/index.ts';
import { textFault } from '../redaction/index.ts';
import type { OwnerRecord, Store } from '../store/index.ts';

export interface SetOwnerInput {
  ratelimits?: RateLimitRule[] | null;
  credits?: CreditsInput | null;
  /** Gateway: money budgets in currency units, shared by all of the owner's keys. */
  budgets?: BudgetInput[] | null;
}

export const OWNER_ID_PATTERN = /^[^\s/?#]{1,200}$/;

/**
 * Owners (a user, team or service that several keys share) carry limits and credits that all
 * of their keys draw from together. An owner needs no record to own keys: the record exists
 * only to hold shared limits.
 */
export class OwnerService {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #invalidation: InvalidationChannel;

  constructor(deps: { store: Store; clock: Clock; invalidation: InvalidationChannel }) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#invalidation = deps.invalidation;
  }

  async get(id: string): Promise<OwnerRecord> {
    const owner = await this.#store.owners.findById(id);
    if (!owner) throw notFound('owner', id);
    return owner;
  }

  list(limit: number, afterId?: string): Promise<OwnerRecord[]> {
    return this.#store.owners.list(limit, afterId);
  }

  /** Sets the owner's limits and/or credits; fields not given keep their value. */
  async set(id: string, input: SetOwnerInput, actor: Actor): Promise<OwnerRecord> {
    if (!OWNER_ID_PATTERN.test(id))
      throw invalidField('/id', 'an owner id is 1–200 characters without spaces, /, ? or #');
    // The id is stored, shown and written as the audit target as given: never a key.
    const fault = textFault(id, 'identifier');
    if (fault) throw invalidField('/id', fault);
    const now = this.#clock.now();
    validateRatelimits('/ratelimits', input.ratelimits);
    validateCredits('/credits', input.credits, now);
    const budgets = budgetRulesFrom('/budgets', input.budgets);
    const owner = await this.#store.transaction(async (tx) => {
      const current = await tx.owners.findById(id);
      const next: OwnerRecord = {
        id,
        ratelimits:
          input.ratelimits === undefined ? (current?.ratelimits ?? null) : input.ratelimits,
        credits:
          input.credits === undefined
            ? (current?.credits ?? null)
            : storedCredits(input.credits, now),
        budgets: budgets === undefined ? (current?.budgets ?? null) : budgets,
        createdAt: current?.createdAt ?? now,
        updatedAt: now,
      };
      await tx.owners.upsert(next);
      await tx.audit.append(
        auditEntry(actor, now, 'owner.set', { type: 'owner', id }, { fields: Object.keys(input) }),
      );
      return next;
    });
    await this.#invalidation.publish({
      type: 'owner',
      ownerId: id,
      creditsChanged: input.credits !== undefined,
    });
    return owner;
  }

  async delete(id: string, actor: Actor): Promise<void> {
    const now = this.#clock.now();
    await this.#store.transaction(async (tx) => {
      if (!(await tx.owners.delete(id))) throw notFound('owner', id);
      await tx.audit.append(auditEntry(actor, now, 'owner.delete', { type: 'owner', id }));
    });
    await this.#invalidation.publish({ type: 'owner', ownerId: id, creditsChanged: true });
  }
}
