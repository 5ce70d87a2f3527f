import { LRUCache } from 'lru-cache';
import type { KeyRecord } from '../store/index.ts';

/**
 * Keeps a load from caching what an invalidation has already superseded.
 *
 * The race (issue 15, finding 1): node B starts loading a key it has not cached; node A
 * revokes it; A's invalidation reaches B (nothing to drop yet); B's load, which read the row
 * before the revocation committed, completes and would cache the old record.
 *
 * Each invalidation is stamped with a local, increasing epoch; a load takes the epoch at its
 * start (a ticket). When it finishes, its record is superseded if an invalidation of that key
 * (or its project, or of everything: a resync) arrived after the ticket — unless the message
 * carried the store's revision and the record is at least as new (it read the change
 * already). A record older than any revision heard for its key is superseded whatever the
 * timing. The marks are bounded: when one is evicted, every load older than it is treated as
 * superseded (a re-read, never a wrong entry).
 */
export type LoadTicket = number;

interface KeyMark {
  /** The latest invalidation of the key, and the revision it carried (none: a deletion…). */
  epoch: number;
  revision: number | undefined;
  /** The highest revision ever heard for the key. */
  highest: number;
}

const MAX_MARKS = 100_000;

export class LoadGuard {
  #epoch = 0;
  /** Loads that started before this epoch are superseded (a resync, or an evicted mark). */
  #floor = 0;
  readonly #keys: LRUCache<string, KeyMark>;
  readonly #projects: LRUCache<string, number>;
  readonly #created: LRUCache<string, number>;

  constructor(maxMarks = MAX_MARKS) {
    const raiseFloor = (epoch: number) => {
      if (epoch > this.#floor) this.#floor = epoch;
    };
    this.#keys = new LRUCache({
      max: maxMarks,
      dispose: (mark, _id, reason) => {
        if (reason === 'evict') raiseFloor(mark.epoch);
      },
    });
    this.#projects = new LRUCache({
      max: maxMarks,
      dispose: (epoch, _id, reason) => {
        if (reason === 'evict') raiseFloor(epoch);
      },
    });
    this.#created = new LRUCache({
      max: maxMarks,
      dispose: (epoch, _hash, reason) => {
        if (reason === 'evict') raiseFloor(epoch);
      },
    });
  }

  begin(): LoadTicket {
    return this.#epoch;
  }

  markKey(keyId: string, revision: number | undefined): void {
    const highest = Math.max(this.#keys.peek(keyId)?.highest ?? 0, revision ?? 0);
    this.#keys.set(keyId, { epoch: ++this.#epoch, revision, highest });
  }

  markProject(projectId: string): void {
    this.#projects.set(projectId, ++this.#epoch);
  }

  markCreated(hash: string): void {
    this.#created.set(hash, ++this.#epoch);
  }

  /** Everything may have changed (a resync): every load in flight is superseded. */
  markAll(): void {
    this.#floor = ++this.#epoch;
  }

  superseded(ticket: LoadTicket, key: KeyRecord, projectId: string): boolean {
    if (this.#floor > ticket) return true;
    const mark = this.#keys.peek(key.id);
    if (mark) {
      const read = key.revision;
      if (read !== undefined && read < mark.highest) return true;
      const readTheChange =
        mark.revision !== undefined && read !== undefined && read >= mark.revision;
      if (mark.epoch > ticket && !readTheChange) return true;
    }
    return (this.#projects.peek(projectId) ?? 0) > ticket;
  }

  createdSince(ticket: LoadTicket, hash: string): boolean {
    return this.#floor > ticket || (this.#created.peek(hash) ?? 0) > ticket;
  }
}
