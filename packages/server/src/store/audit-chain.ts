import { createHash } from 'node:crypto';
import type { AuditEntry, AuditEntryInput } from './types.ts';

/**
 * The audit log is a hash chain: each entry's hash covers the previous entry's hash and its
 * own content, so an edited, deleted or reordered entry breaks every hash after it.
 * `keywarden audit verify` walks the chain.
 */
export const GENESIS_HASH = '0'.repeat(64);

export function auditEntryHash(prevHash: string, seq: number, entry: AuditEntryInput): string {
  const content = JSON.stringify([
    seq,
    entry.at,
    entry.actorId,
    entry.actorDisplay,
    entry.action,
    entry.targetType,
    entry.targetId,
    entry.ip,
    entry.result,
    entry.requestId,
    entry.details,
  ]);
  return createHash('sha256').update(prevHash).update('\n').update(content).digest('hex');
}

export interface ChainBreak {
  seq: number;
  reason: 'gap' | 'prev_hash_mismatch' | 'hash_mismatch';
}

/** Checks one page of entries, continuing from the previous page's last (seq, hash). */
export function verifyAuditPage(
  entries: readonly AuditEntry[],
  previous: { seq: number; hash: string },
): { last: { seq: number; hash: string }; breaks: ChainBreak[] } {
  const breaks: ChainBreak[] = [];
  let last = previous;
  for (const entry of entries) {
    if (entry.seq !== last.seq + 1) breaks.push({ seq: entry.seq, reason: 'gap' });
    if (entry.prevHash !== last.hash) breaks.push({ seq: entry.seq, reason: 'prev_hash_mismatch' });
    if (auditEntryHash(entry.prevHash, entry.seq, entry) !== entry.hash) {
      breaks.push({ seq: entry.seq, reason: 'hash_mismatch' });
    }
    last = { seq: entry.seq, hash: entry.hash };
  }
  return { last, breaks };
}
