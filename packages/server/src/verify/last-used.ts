import type { KeyRepository, KeyUsageTouch } from '../store/index.ts';

/**
 * Records when and from where each key was last used, without a store write per request:
 * the latest use per key is kept in memory and written in one batch every `intervalMs`.
 * A crash loses at most one interval of last-used times, which are informational.
 */
export class LastUsedRecorder {
  readonly #keys: Pick<KeyRepository, 'touch'>;
  readonly #pending = new Map<string, KeyUsageTouch>();
  readonly #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();
  #onError: (error: unknown) => void;

  constructor(
    keys: Pick<KeyRepository, 'touch'>,
    options: { intervalMs?: number; onError?: (error: unknown) => void } = {},
  ) {
    this.#keys = keys;
    this.#onError = options.onError ?? (() => {});
    const intervalMs = options.intervalMs ?? 1000;
    if (intervalMs > 0) {
      this.#timer = setInterval(() => void this.flush(), intervalMs);
      this.#timer.unref();
    }
  }

  record(keyId: string, at: number, ip: string | null): void {
    // Called on every verification: update the pending entry in place, allocate only once.
    const pending = this.#pending.get(keyId);
    if (pending) {
      pending.at = at;
      pending.ip = ip;
    } else this.#pending.set(keyId, { keyId, at, ip });
  }

  flush(): Promise<void> {
    if (this.#pending.size === 0) return this.#flushing;
    const batch = [...this.#pending.values()];
    this.#pending.clear();
    this.#flushing = this.#flushing
      .then(() => this.#keys.touch(batch))
      .catch((error: unknown) => this.#onError(error));
    return this.#flushing;
  }

  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.flush();
  }
}
