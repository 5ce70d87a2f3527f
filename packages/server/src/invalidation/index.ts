/**
 * What a node must forget when something changes. The single-node channel delivers in
 * process; the cluster channel (Redis pub/sub or PostgreSQL NOTIFY) will deliver the same
 * messages to every node. Messages carry ids and hashes only, never a plaintext key.
 */
export type Invalidation =
  | { type: 'key'; keyId: string; creditsChanged?: boolean }
  | { type: 'owner'; ownerId: string; creditsChanged?: boolean }
  | { type: 'key-created'; hash: string }
  | { type: 'project'; projectId: string };

export interface InvalidationChannel {
  publish(message: Invalidation): Promise<void>;
  subscribe(listener: (message: Invalidation) => void): void;
  close(): Promise<void>;
}

export class LocalInvalidationChannel implements InvalidationChannel {
  readonly #listeners: Array<(message: Invalidation) => void> = [];

  async publish(message: Invalidation): Promise<void> {
    for (const listener of this.#listeners) listener(message);
  }

  subscribe(listener: (message: Invalidation) => void): void {
    this.#listeners.push(listener);
  }

  async close(): Promise<void> {
    this.#listeners.length = 0;
  }
}
