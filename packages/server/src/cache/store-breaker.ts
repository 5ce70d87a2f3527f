import type { Clock } from '../clock/index.ts';
import { withDeadline } from '../clock/index.ts';

/**
 * A circuit breaker in front of the store's hot-path reads (issue 15, finding 7: with
 * PostgreSQL blackholed, every request for an aged cached key waited 2 s for the store).
 *
 * After a failure, the store is left alone for a backoff (250 ms doubling to 1 s): requests
 * serve stale entries within the revocation bound at once, and keys with nothing to serve get
 * 503 at once. When the backoff is over, one request probes the store (in the background when
 * it has a stale entry to serve); its success closes the breaker, its failure doubles the
 * backoff. The decision is pure (`decideStoreAccess`, `afterStoreCall`); the class holds the
 * state, reads the clock and reports each change of state once (no log line per request).
 */
export interface BreakerState {
  open: boolean;
  /** Consecutive failed calls (0 while closed). */
  failures: number;
  /** While open: when the next probe may go. */
  retryAt: number;
  /** A probe is on its way. */
  probing: boolean;
}

/**
 * The cap is short on purpose: an entry past the revocation bound (or a key never cached)
 * gets 503 while the breaker is open, so the cap is also how long recovery can lag behind
 * the store's return. One probe per second is still about 60 attempts a minute instead of
 * one per request (finding 8 counted 14,400 a minute).
 */
export interface BreakerPolicy {
  baseDelayMs: number;
  maxDelayMs: number;
}

export const CLOSED: BreakerState = { open: false, failures: 0, retryAt: 0, probing: false };

/** `call`: read the store; `probe`: the one read allowed while open; `skip`: do not. */
export type StoreAccess = 'call' | 'probe' | 'skip';

export function decideStoreAccess(state: BreakerState, now: number): StoreAccess {
  if (!state.open) return 'call';
  return !state.probing && now >= state.retryAt ? 'probe' : 'skip';
}

/** The state after a store call: `probe` says whether it was the breaker's probe. */
export function afterStoreCall(
  state: BreakerState,
  outcome: { ok: boolean; probe: boolean },
  now: number,
  policy: BreakerPolicy,
): BreakerState {
  if (outcome.ok) return CLOSED;
  // A call that was already under way when the breaker opened tells nothing new.
  if (state.open && !outcome.probe) return state;
  const failures = state.failures + 1;
  const delay = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(failures - 1, 20));
  return { open: true, failures, retryAt: now + delay, probing: false };
}

export class StoreTimeoutError extends Error {
  constructor(ms: number) {
    super(`the store did not answer a verification read within ${ms} ms`);
    this.name = 'StoreTimeoutError';
  }
}

export interface StoreBreakerOptions {
  clock: Clock;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /**
   * How long a request waits for one store read before it counts as failed and the request
   * is answered without it (default 2000 ms, the pool's connect timeout). A blackholed
   * connection would otherwise hold a request until the store's own reply deadline (35 s).
   */
  callTimeoutMs?: number;
  /** The store stopped answering (once per outage). */
  onOpen?: (error: unknown) => void;
  /** It answers again, after `downForMs`. */
  onClose?: (downForMs: number) => void;
}

export class StoreBreaker {
  readonly #clock: Clock;
  readonly #policy: BreakerPolicy;
  readonly #options: StoreBreakerOptions;
  #state: BreakerState = CLOSED;
  #openedAt = 0;
  /** Failed store calls, and requests that did not wait on the store, since start. */
  readonly counts = { failures: 0, skipped: 0, opened: 0 };

  constructor(options: StoreBreakerOptions) {
    this.#clock = options.clock;
    this.#options = options;
    this.#policy = {
      baseDelayMs: options.baseDelayMs ?? 250,
      maxDelayMs: options.maxDelayMs ?? 1000,
    };
  }

  get open(): boolean {
    return this.#state.open;
  }

  /** `work`, or a StoreTimeoutError after `callTimeoutMs` (the read itself runs on). */
  within<T>(work: Promise<T>): Promise<T> {
    const ms = this.#options.callTimeoutMs ?? 2000;
    return withDeadline(work, ms, () => new StoreTimeoutError(ms));
  }

  /** Whether to read the store now; a `probe` must be followed by `succeeded` or `failed`. */
  access(): StoreAccess {
    const access = decideStoreAccess(this.#state, this.#clock.now());
    if (access === 'probe') this.#state = { ...this.#state, probing: true };
    else if (access === 'skip') this.counts.skipped++;
    return access;
  }

  succeeded(): void {
    if (!this.#state.open) return;
    this.#state = CLOSED;
    this.#options.onClose?.(this.#clock.now() - this.#openedAt);
  }

  failed(error: unknown, probe = false): void {
    this.counts.failures++;
    const wasOpen = this.#state.open;
    const now = this.#clock.now();
    this.#state = afterStoreCall(this.#state, { ok: false, probe }, now, this.#policy);
    if (!wasOpen && this.#state.open) {
      this.#openedAt = now;
      this.counts.opened++;
      this.#options.onOpen?.(error);
    }
  }
}
