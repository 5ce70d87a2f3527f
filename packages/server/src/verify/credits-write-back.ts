import type { RateLimiter } from '../limiter/index.ts';
import type { CreditsWriteBack, Store } from '../store/index.ts';

/**
 * The limiter holds the live credit balances (decided and spent atomically in memory, or in
 * Redis); this writes them back to the store every `intervalMs` and on close, so that a
 * restart resumes from the last written balance. A crash can lose at most one interval of
 * spending (the balance reads higher by what was spent in that interval): the usage events
 * of that interval, which are flushed on the same cadence, are the record of it.
 */
export class CreditsWriteBackLoop {
  readonly #limiter: RateLimiter;
  readonly #store: Pick<Store, 'keys' | 'owners'>;
  readonly #timer: NodeJS.Timeout | undefined;
  readonly #onError: (error: unknown) => void;
  #running: Promise<void> = Promise.resolve();

  constructor(
    limiter: RateLimiter,
    store: Pick<Store, 'keys' | 'owners'>,
    options: { intervalMs?: number; onError?: (error: unknown) => void } = {},
  ) {
    this.#limiter = limiter;
    this.#store = store;
    this.#onError = options.onError ?? (() => {});
    const intervalMs = options.intervalMs ?? 1000;
    if (intervalMs > 0) {
      this.#timer = setInterval(() => void this.flush(), intervalMs);
      this.#timer.unref();
    }
  }

  flush(): Promise<void> {
    this.#running = this.#running.then(() => this.#writeBack()).catch(this.#onError);
    return this.#running;
  }

  async #writeBack(): Promise<void> {
    const changes = await this.#limiter.drainCreditChanges();
    const keys: CreditsWriteBack[] = [];
    const owners: CreditsWriteBack[] = [];
    for (const { subject, state } of changes) {
      const separator = subject.indexOf(':');
      const change = {
        id: subject.slice(separator + 1),
        remaining: state.remaining,
        refilledAt: state.lastRefillAt,
      };
      if (subject.startsWith('key:')) keys.push(change);
      else if (subject.startsWith('owner:')) owners.push(change);
    }
    if (keys.length > 0) await this.#store.keys.writeBackCredits(keys);
    if (owners.length > 0) await this.#store.owners.writeBackCredits(owners);
  }

  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.flush();
  }
}
