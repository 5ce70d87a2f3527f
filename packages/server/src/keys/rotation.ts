import { type Actor, auditEntry } from '../audit/index.ts';
import type { Clock } from '../clock/index.ts';
import { invalidField, KeywardenError, notFound } from '../errors/index.ts';
import { newId } from '../ids/index.ts';
import type { InvalidationChannel } from '../invalidation/index.ts';
import type { KeyHasher } from '../secrets/index.ts';
import type {
  KeyRecord,
  ProjectRecord,
  Repositories,
  RotationRule,
  Store,
} from '../store/index.ts';
import { type InTransaction, mintKey } from './mint.ts';

const DAY_MS = 86_400_000;
export const MAX_GRACE_SECONDS = 30 * 86_400;
export const MAX_BULK_KEYS = 10_000;

export interface RotatedKey {
  record: KeyRecord;
  plaintext: string;
  previous: KeyRecord;
}

export interface BulkFilter {
  projectId?: string;
  env?: string;
  ownerId?: string;
  createdBefore?: number;
}

/** The rotation rule for a key's environment, if its project has one. */
export function rotationRuleFor(project: ProjectRecord, env: string): RotationRule | null {
  return project.rotationPolicy[env] ?? project.rotationPolicy['*'] ?? null;
}

/** When a key should be rotated by, under its project's policy; null when there is none. */
export function rotationDueAt(
  key: Pick<KeyRecord, 'createdAt' | 'env'>,
  project: ProjectRecord,
): number | null {
  const rule = rotationRuleFor(project, key.env);
  return rule ? key.createdAt + rule.maxAgeDays * DAY_MS : null;
}

/**
 * Rotation and emergency actions. A rotation mints a new key with the same settings and
 * lets the old one live until the grace period ends (then it answers EXPIRED); the lineage
 * (rotatedFromId / rotatedToId) is kept on both. Bulk actions change every matching key in
 * one transaction with one summary audit entry and one entry per key.
 */
export class RotationService {
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

  async rotate(
    id: string,
    gracePeriodSeconds: number,
    actor: Actor,
    inTransaction?: InTransaction<RotatedKey>,
  ): Promise<RotatedKey> {
    if (
      !Number.isSafeInteger(gracePeriodSeconds) ||
      gracePeriodSeconds < 0 ||
      gracePeriodSeconds > MAX_GRACE_SECONDS
    ) {
      throw invalidField(
        '/gracePeriodSeconds',
        `must be an integer from 0 to ${MAX_GRACE_SECONDS}`,
      );
    }
    const rotated = await this.#store.transaction(async (tx) => {
      const key = await tx.keys.findById(id);
      if (key?.kind !== 'api') throw notFound('key', id);
      const result = await this.#rotateIn(tx, key, gracePeriodSeconds, actor, {});
      await inTransaction?.(tx, result);
      return result;
    });
    await this.#announce([rotated]);
    return rotated;
  }

  async #rotateIn(
    tx: Repositories,
    key: KeyRecord,
    graceSeconds: number,
    actor: Actor,
    details: Record<string, unknown>,
  ): Promise<RotatedKey> {
    if (key.status === 'revoked')
      throw new KeywardenError(
        'KEY_STATE_CONFLICT',
        `key ${key.id} is revoked: create a new key instead`,
      );
    if (key.rotatedToId) {
      throw new KeywardenError(
        'KEY_STATE_CONFLICT',
        `key ${key.id} was already rotated to ${key.rotatedToId}`,
      );
    }
    const project = await tx.projects.findById(key.projectId);
    if (!project) throw notFound('project', key.projectId);
    const now = this.#clock.now();
    const minted = mintKey(this.#hasher, project.prefix, key.env);
    const record: KeyRecord = {
      ...key,
      id: newId('key', now),
      hash: minted.hash,
      pepperVersion: minted.pepperVersion,
      display: minted.display,
      status: key.status,
      createdAt: now,
      updatedAt: now,
      lastUsedAt: null,
      lastUsedIp: null,
      rotatedFromId: key.id,
      rotatedToId: null,
      revokedAt: null,
    };
    const graceEnds = now + graceSeconds * 1000;
    const oldExpiry = key.expiresAt === null ? graceEnds : Math.min(key.expiresAt, graceEnds);
    await tx.keys.insert(record);
    const previous = (await tx.keys.update(key.id, {
      expiresAt: oldExpiry,
      rotatedToId: record.id,
      updatedAt: now,
    }))!;
    await tx.audit.append(
      auditEntry(
        actor,
        now,
        'key.rotate',
        { type: 'key', id: key.id },
        {
          ...details,
          newKeyId: record.id,
          display: key.display,
          newDisplay: record.display,
          gracePeriodSeconds: graceSeconds,
          oldKeyExpiresAt: new Date(oldExpiry).toISOString(),
        },
      ),
    );
    return { record, plaintext: minted.plaintext, previous };
  }

  async #announce(rotated: readonly RotatedKey[]): Promise<void> {
    for (const r of rotated) {
      await this.#invalidation.publish({
        type: 'key',
        keyId: r.previous.id,
        revision: r.previous.revision,
      });
      await this.#invalidation.publish({ type: 'key-created', hash: r.record.hash });
    }
  }

  /** Active keys whose rotation (under their project's policy) is due by `dueBy`, oldest first. */
  async listRotationDue(
    dueBy: number,
    filter: { projectId?: string; limit: number },
  ): Promise<Array<{ key: KeyRecord; dueAt: number }>> {
    const projects = (await this.#store.projects.list()).filter(
      (p) =>
        Object.keys(p.rotationPolicy).length > 0 &&
        (!filter.projectId || p.id === filter.projectId),
    );
    const due: Array<{ key: KeyRecord; dueAt: number }> = [];
    for (const project of projects) {
      for (const key of await this.#matching({ projectId: project.id }, MAX_BULK_KEYS)) {
        const dueAt = rotationDueAt(key, project);
        if (dueAt !== null && dueAt <= dueBy && !key.rotatedToId) due.push({ key, dueAt });
      }
    }
    return due.sort((a, b) => a.dueAt - b.dueAt).slice(0, filter.limit);
  }

  /** Active and disabled API keys matching the filter (revoked ones need no action). */
  async #matching(filter: BulkFilter, max: number): Promise<KeyRecord[]> {
    const found: KeyRecord[] = [];
    let beforeId: string | undefined;
    for (;;) {
      const page = await this.#store.keys.list({
        kind: 'api',
        projectId: filter.projectId,
        env: filter.env,
        ownerId: filter.ownerId,
        beforeId,
        limit: 500,
      });
      for (const key of page) {
        if (key.status === 'revoked') continue;
        if (filter.createdBefore !== undefined && key.createdAt >= filter.createdBefore) continue;
        found.push(key);
        if (found.length > max) {
          throw new KeywardenError(
            'VALIDATION_FAILED',
            `more than ${max} keys match: narrow the filter`,
            {
              fieldErrors: [{ field: '/filter', message: `matches more than ${max} keys` }],
            },
          );
        }
      }
      if (page.length < 500) return found;
      beforeId = page[page.length - 1]!.id;
    }
  }

  /** Emergency revocation of every matching key, in one transaction; `dryRun` only lists them. */
  async bulkRevoke(
    filter: BulkFilter,
    options: { dryRun: boolean; reason?: string },
    actor: Actor,
  ): Promise<KeyRecord[]> {
    const keys = await this.#matching(filter, MAX_BULK_KEYS);
    if (options.dryRun) return keys;
    const now = this.#clock.now();
    const revoked = await this.#store.transaction(async (tx) => {
      const done: KeyRecord[] = [];
      for (const key of keys) {
        const next = await tx.keys.update(key.id, {
          status: 'revoked',
          revokedAt: now,
          updatedAt: now,
        });
        if (!next) continue;
        done.push(next);
        await tx.audit.append(
          auditEntry(
            actor,
            now,
            'key.revoke',
            { type: 'key', id: key.id },
            { display: key.display, bulk: true, reason: options.reason },
          ),
        );
      }
      await tx.audit.append(
        auditEntry(
          actor,
          now,
          'key.bulk_revoke',
          { type: 'filter', id: null },
          { filter, reason: options.reason, count: done.length, keyIds: done.map((k) => k.id) },
        ),
      );
      return done;
    });
    for (const key of revoked) {
      await this.#invalidation.publish({ type: 'key', keyId: key.id, revision: key.revision });
    }
    return revoked;
  }

  /** Emergency rotation of every matching key; returns every new key's plaintext, once. */
  async bulkRotate(
    filter: BulkFilter,
    options: { dryRun: boolean; gracePeriodSeconds: number },
    actor: Actor,
  ): Promise<{ keys: KeyRecord[]; rotated: RotatedKey[] }> {
    const keys = (await this.#matching(filter, MAX_BULK_KEYS)).filter((k) => !k.rotatedToId);
    if (options.dryRun) return { keys, rotated: [] };
    const now = this.#clock.now();
    const rotated = await this.#store.transaction(async (tx) => {
      const done: RotatedKey[] = [];
      for (const key of keys) {
        done.push(await this.#rotateIn(tx, key, options.gracePeriodSeconds, actor, { bulk: true }));
      }
      await tx.audit.append(
        auditEntry(
          actor,
          now,
          'key.bulk_rotate',
          { type: 'filter', id: null },
          {
            filter,
            gracePeriodSeconds: options.gracePeriodSeconds,
            count: done.length,
            keyIds: done.map((r) => r.previous.id),
          },
        ),
      );
      return done;
    });
    await this.#announce(rotated);
    return { keys, rotated };
  }
}
