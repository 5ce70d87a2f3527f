import { type Actor, auditEntry } from '../audit/index.ts';
import type { Clock } from '../clock/index.ts';
import { KeywardenError, notFound } from '../errors/index.ts';
import { newId } from '../ids/index.ts';
import type { InvalidationChannel } from '../invalidation/index.ts';
import type { RateLimitRule } from '../limiter/index.ts';
import { redactDeep } from '../redaction/index.ts';
import type { KeyHasher } from '../secrets/index.ts';
import type {
  KeyFilter,
  KeyKind,
  KeyPatch,
  KeyRecord,
  ProjectRecord,
  Store,
  StoredCredits,
} from '../store/index.ts';
import { type InTransaction, mintKey } from './mint.ts';
import {
  type BudgetInput,
  budgetRulesFrom,
  type CreditsInput,
  validateAllowedIps,
  validateCredits,
  validateEnvironment,
  validateExpiry,
  validateKeyText,
  validateMeta,
  validateModels,
  validateRatelimits,
  validateScopes,
} from './validate.ts';

export interface CreateKeyInput {
  name: string;
  /** Project id or name; the default project when absent. */
  project?: string;
  env?: string;
  scopes?: string[];
  expiresAt?: number | null;
  ownerId?: string | null;
  meta?: Record<string, unknown>;
  allowedIps?: string[];
  /** null or absent: inherit the project's defaults for the environment; []: no limits. */
  ratelimits?: RateLimitRule[] | null;
  credits?: CreditsInput | null;
  /** Gateway: the models the key may call; null or absent: any. */
  models?: string[] | null;
  /** Gateway: money budgets in currency units; null or absent: none of its own. */
  budgets?: BudgetInput[] | null;
}

export type UpdateKeyInput = Partial<
  Pick<
    CreateKeyInput,
    | 'name'
    | 'scopes'
    | 'expiresAt'
    | 'ownerId'
    | 'meta'
    | 'allowedIps'
    | 'ratelimits'
    | 'credits'
    | 'models'
    | 'budgets'
  >
>;

export interface CreatedKey {
  record: KeyRecord;
  /** The plaintext key: returned by this call only, never stored, never logged. */
  plaintext: string;
}

/** Credits as given by the API → as stored: a new balance counts as refilled now. */
export function storedCredits(
  input: CreditsInput | null | undefined,
  nowMs: number,
): StoredCredits | null {
  return input
    ? { remaining: input.remaining, refill: input.refill ?? null, refilledAt: nowMs }
    : null;
}

export const DEFAULT_PROJECT = 'default';
export const MANAGEMENT_PROJECT = '_management';

/**
 * Every change to a key: validated, written with its audit entry in one transaction, then
 * announced on the invalidation channel so that no cache keeps serving the old state.
 */
export class KeyService {
  readonly #store: Store;
  readonly #hasher: KeyHasher;
  readonly #clock: Clock;
  readonly #invalidation: InvalidationChannel;

  constructor(deps: {
    store: Store;
    hasher: KeyHasher;
    clock: Clock;
    invalidation: InvalidationChannel;
  }) {
    this.#store = deps.store;
    this.#hasher = deps.hasher;
    this.#clock = deps.clock;
    this.#invalidation = deps.invalidation;
  }

  async resolveProject(ref: string | undefined, kind: KeyKind): Promise<ProjectRecord> {
    if (kind === 'management') {
      const project = await this.#store.projects.findByName(MANAGEMENT_PROJECT);
      if (!project) throw new Error('the management project is missing: migrations did not run');
      return project;
    }
    const name = ref ?? DEFAULT_PROJECT;
    const project =
      (await this.#store.projects.findById(name)) ?? (await this.#store.projects.findByName(name));
    if (!project || project.name === MANAGEMENT_PROJECT) {
      throw new KeywardenError('VALIDATION_FAILED', `project ${name} does not exist`, {
        fieldErrors: [{ field: '/project', message: 'no such project' }],
      });
    }
    return project;
  }

  async create(
    input: CreateKeyInput,
    actor: Actor,
    kind: KeyKind = 'api',
    inTransaction?: InTransaction<CreatedKey>,
  ): Promise<CreatedKey> {
    const now = this.#clock.now();
    const project = await this.resolveProject(input.project, kind);
    const env =
      input.env ?? (project.environments.includes('dev') ? 'dev' : project.environments[0]!);
    validateEnvironment(env, project.environments);
    // Least privilege: a key gets no scopes unless they are asked for.
    const scopes = input.scopes ?? [];
    validateScopes(scopes);
    validateAllowedIps(input.allowedIps ?? []);
    validateExpiry(input.expiresAt, now);
    validateKeyText(input);
    validateMeta(input.meta);
    validateRatelimits('/ratelimits', input.ratelimits);
    validateCredits('/credits', input.credits, now);
    validateModels('/models', input.models);
    const budgets = budgetRulesFrom('/budgets', input.budgets);

    const { plaintext, hash, pepperVersion, display } = mintKey(this.#hasher, project.prefix, env);
    const record: KeyRecord = {
      id: newId('key', now),
      projectId: project.id,
      kind,
      name: redactDeep(input.name),
      env,
      hash,
      pepperVersion,
      display,
      scopes,
      status: 'active',
      ownerId: input.ownerId ?? null,
      meta: redactDeep(input.meta ?? {}),
      expiresAt: input.expiresAt ?? null,
      allowedIps: input.allowedIps ?? [],
      createdAt: now,
      updatedAt: now,
      lastUsedAt: null,
      lastUsedIp: null,
      rotatedFromId: null,
      revokedAt: null,
      ratelimits: input.ratelimits ?? null,
      credits: storedCredits(input.credits, now),
      rotatedToId: null,
      models: input.models ?? null,
      budgets: budgets ?? null,
    };
    await this.#store.transaction(async (tx) => {
      await tx.keys.insert(record);
      await tx.audit.append(
        auditEntry(
          actor,
          now,
          kind === 'api' ? 'key.create' : 'admin_key.create',
          { type: 'key', id: record.id },
          {
            name: record.name,
            project: project.name,
            env,
            scopes,
            display: record.display,
          },
        ),
      );
      await inTransaction?.(tx, { record, plaintext });
    });
    // A node that cached this hash as unknown (someone tried it early) must accept it now.
    await this.#invalidation.publish({ type: 'key-created', hash });
    return { record, plaintext };
  }

  async get(id: string, kind: KeyKind = 'api'): Promise<KeyRecord> {
    const key = await this.#store.keys.findById(id);
    if (!key || key.kind !== kind) throw notFound('key', id);
    return key;
  }

  list(filter: KeyFilter): Promise<KeyRecord[]> {
    return this.#store.keys.list(filter);
  }

  async update(id: string, input: UpdateKeyInput, actor: Actor): Promise<KeyRecord> {
    const now = this.#clock.now();
    if (input.scopes) validateScopes(input.scopes);
    if (input.allowedIps) validateAllowedIps(input.allowedIps);
    validateExpiry(input.expiresAt, now);
    validateKeyText(input);
    validateMeta(input.meta);
    validateRatelimits('/ratelimits', input.ratelimits);
    validateCredits('/credits', input.credits, now);
    validateModels('/models', input.models);
    const { credits, budgets, ...rest } = input;
    const patch: KeyPatch = { ...rest, updatedAt: now };
    if (credits !== undefined) patch.credits = storedCredits(credits, now);
    if (budgets !== undefined) patch.budgets = budgetRulesFrom('/budgets', budgets) ?? null;
    if (input.name !== undefined) patch.name = redactDeep(input.name);
    if (input.meta !== undefined) patch.meta = redactDeep(input.meta);
    return this.#change(
      id,
      'key.update',
      actor,
      async (key) => {
        if (key.status === 'revoked')
          throw new KeywardenError('KEY_STATE_CONFLICT', 'a revoked key cannot be changed');
        return patch;
      },
      { fields: Object.keys(input) },
      credits !== undefined,
    );
  }

  setEnabled(id: string, enabled: boolean, actor: Actor): Promise<KeyRecord> {
    return this.#change(id, enabled ? 'key.enable' : 'key.disable', actor, async (key) => {
      if (key.status === 'revoked') {
        throw new KeywardenError(
          'KEY_STATE_CONFLICT',
          'a revoked key cannot be enabled or disabled',
        );
      }
      return { status: enabled ? 'active' : 'disabled', updatedAt: this.#clock.now() };
    });
  }

  /** Revocation is final and idempotent: revoking a revoked key changes nothing. */
  revoke(id: string, actor: Actor, reason?: string, kind: KeyKind = 'api'): Promise<KeyRecord> {
    return this.#change(
      id,
      kind === 'api' ? 'key.revoke' : 'admin_key.revoke',
      actor,
      async (key) => {
        if (key.status === 'revoked') return null;
        const now = this.#clock.now();
        return { status: 'revoked', revokedAt: now, updatedAt: now };
      },
      reason ? { reason } : {},
      false,
      kind,
    );
  }

  async delete(id: string, actor: Actor): Promise<void> {
    const now = this.#clock.now();
    await this.#store.transaction(async (tx) => {
      const key = await tx.keys.findById(id);
      if (key?.kind !== 'api') throw notFound('key', id);
      await tx.keys.delete(id);
      await tx.audit.append(
        auditEntry(actor, now, 'key.delete', { type: 'key', id }, { display: key.display }),
      );
    });
    await this.#invalidation.publish({ type: 'key', keyId: id });
  }

  async #change(
    id: string,
    action: string,
    actor: Actor,
    decide: (key: KeyRecord) => Promise<KeyPatch | null>,
    details: Record<string, unknown> = {},
    creditsChanged = false,
    kind: KeyKind = 'api',
  ): Promise<KeyRecord> {
    const now = this.#clock.now();
    const updated = await this.#store.transaction(async (tx) => {
      const key = await tx.keys.findById(id);
      if (key?.kind !== kind) throw notFound('key', id);
      const patch = await decide(key);
      if (!patch) return key;
      const next = await tx.keys.update(id, patch);
      await tx.audit.append(
        auditEntry(actor, now, action, { type: 'key', id }, { display: key.display, ...details }),
      );
      return next!;
    });
    await this.#invalidation.publish({
      type: 'key',
      keyId: id,
      creditsChanged,
      revision: updated.revision,
    });
    return updated;
  }
}
