import { createHash } from 'node:crypto';
import { checkKeyFormat } from '@keywarden/core';
import { type Actor, auditEntry } from '../audit/index.ts';
import type { Clock } from '../clock/index.ts';
import { newId } from '../ids/index.ts';
import type { InvalidationChannel } from '../invalidation/index.ts';
import type { KeyHasher } from '../secrets/index.ts';
import type { KeyRecord, LeakRecord, Store } from '../store/index.ts';

export interface LeakReport {
  token: string;
  type: string;
  url: string;
  source: string;
}

export interface LeakVerdict {
  tokenHash: string;
  tokenType: string;
  label: 'true_positive' | 'false_positive';
  /** What keywarden did: revoked the key, only recorded the report, or nothing (not ours, or a replay). */
  action: LeakRecord['action'];
  keyId: string | null;
}

export const GITHUB_ACTOR: Actor = {
  id: 'github-secret-scanning',
  display: 'GitHub secret scanning',
  ip: null,
  requestId: null,
};

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * Reports of leaked keys. A keywarden key (confirmed by checksum and by the store) is
 * revoked at once when its project's policy says so (the default), the leak is recorded
 * with its source URL, and the revocation is audited. A replayed report changes nothing.
 * Reported tokens are kept only as sha256 hashes.
 */
export interface LeakServiceDeps {
  store: Store;
  hasher: KeyHasher;
  clock: Clock;
  invalidation: InvalidationChannel;
  /** Raised for every new leak: the alert channel. */
  onLeak?: (leak: LeakRecord, key: KeyRecord) => void;
}

export class LeakService {
  readonly #deps: LeakServiceDeps;

  constructor(deps: LeakServiceDeps) {
    this.#deps = deps;
  }

  async #findKey(token: string): Promise<KeyRecord | null> {
    const { store, hasher } = this.#deps;
    for (const { hash } of [hasher.hash(token), ...hasher.olderHashes(token)]) {
      const key = await store.keys.findByHash(hash);
      if (key) return key;
    }
    return null;
  }

  async report(
    reports: readonly LeakReport[],
    reporter: LeakRecord['reporter'],
    actor: Actor,
  ): Promise<LeakVerdict[]> {
    const verdicts: LeakVerdict[] = [];
    for (const report of reports) {
      const tokenHash = sha256(report.token);
      const key = checkKeyFormat(report.token).ok ? await this.#findKey(report.token) : null;
      if (!key) {
        verdicts.push({
          tokenHash,
          tokenType: report.type,
          label: 'false_positive',
          action: 'none',
          keyId: null,
        });
        continue;
      }
      verdicts.push({
        tokenHash,
        tokenType: report.type,
        label: 'true_positive',
        ...(await this.#handle(key, report, tokenHash, reporter, actor)),
      });
    }
    return verdicts;
  }

  async #handle(
    key: KeyRecord,
    report: LeakReport,
    tokenHash: string,
    reporter: LeakRecord['reporter'],
    actor: Actor,
  ) {
    const { store, clock, invalidation } = this.#deps;
    const now = clock.now();
    const project = await store.projects.findById(key.projectId);
    const revoke = (project?.revokeOnLeak ?? true) && key.status !== 'revoked';
    const leak: LeakRecord = {
      id: newId('lek', now),
      reporter,
      tokenHash,
      tokenType: report.type.slice(0, 100),
      url: report.url.slice(0, 2000),
      source: report.source.slice(0, 100),
      keyId: key.id,
      action: revoke ? 'revoked' : 'reported',
      reportedAt: now,
    };
    const fresh = await store.transaction(async (tx) => {
      if (!(await tx.leaks.insertIfNew(leak))) return false;
      if (revoke)
        await tx.keys.update(key.id, { status: 'revoked', revokedAt: now, updatedAt: now });
      const details = { display: key.display, url: leak.url, source: leak.source, reporter };
      await tx.audit.append(
        auditEntry(
          actor,
          now,
          revoke ? 'key.revoke' : 'leak.reported',
          { type: 'key', id: key.id },
          { ...details, reason: 'leaked' },
        ),
      );
      return true;
    });
    if (!fresh) return { action: 'none' as const, keyId: key.id };
    if (revoke) await invalidation.publish({ type: 'key', keyId: key.id });
    this.#deps.onLeak?.(leak, key);
    return { action: leak.action, keyId: key.id };
  }
}
