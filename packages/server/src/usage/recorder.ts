import type { UsageRepository } from '../store/usage-repository.ts';
import { usageText } from './text.ts';
import type { UsageEvent } from './types.ts';

export interface UsageRecorderStats {
  /** Events accepted and not yet written (including the batch being written). */
  buffered: number;
  /** Events written to the store since start. */
  flushed: number;
  /** Batches written. */
  flushes: number;
  /** `record` calls that had to wait for room. */
  backpressureWaits: number;
  /** Batches the store refused; their events stayed buffered and were retried. */
  flushFailures: number;
}

export interface UsageRecorderOptions {
  /** How often the buffer is written; 0 = only on `flush()` and `close()`. Default 1000. */
  flushIntervalMs?: number;
  /** Buffered events (in-flight batch included) above which `record` makes callers wait. */
  maxBuffered?: number;
  /** Events per transaction. Default 5000. */
  maxBatchSize?: number;
  /** Called once when the buffer fills up (each time it does), for a warning log line. */
  onBackpressure?: (stats: UsageRecorderStats) => void;
  /** Called when a timed or back-pressure flush fails; the events are kept and retried. */
  onFlushError?: (error: unknown, stats: UsageRecorderStats) => void;
}

/**
 * A raw route or user agent longer than this is redacted and cut when recorded, to bound the
 * buffer's memory; shorter ones are redacted and cut by the store, off the hot path.
 */
const RAW_TEXT_MAX = 1024;

/**
 * Records usage events off the request path: `record` appends to a buffer and returns at
 * once; a timer writes the buffer in batches, each batch one transaction (events and
 * roll-ups together).
 *
 * Contract:
 * - a crash loses at most the events of the last flush interval plus the batch in flight;
 *   `close()` writes everything;
 * - nothing is dropped: when `maxBuffered` events are waiting, `record` still accepts the
 *   event but returns a promise that resolves once a flush has made room, and callers await
 *   it (back-pressure instead of loss);
 * - a failed write keeps its events, in order, at the head of the buffer for the next try;
 * - one write at a time.
 */
export class UsageRecorder {
  readonly #usage: Pick<UsageRepository, 'insertBatch'>;
  readonly #maxBuffered: number;
  readonly #maxBatchSize: number;
  readonly #onBackpressure: (stats: UsageRecorderStats) => void;
  readonly #onFlushError: (error: unknown, stats: UsageRecorderStats) => void;
  readonly #timer: NodeJS.Timeout | undefined;
  /** Accepted, not yet written events, oldest first; the batch in flight is its head. */
  #buffer: UsageEvent[] = [];
  #accepted = 0;
  #writing: Promise<void> | null = null;
  #waiters: Array<() => void> = [];
  #closed = false;
  readonly #stats = { flushed: 0, flushes: 0, backpressureWaits: 0, flushFailures: 0 };

  constructor(usage: Pick<UsageRepository, 'insertBatch'>, options: UsageRecorderOptions = {}) {
    this.#usage = usage;
    this.#maxBuffered = options.maxBuffered ?? 100_000;
    this.#maxBatchSize = options.maxBatchSize ?? 5000;
    this.#onBackpressure = options.onBackpressure ?? (() => {});
    this.#onFlushError = options.onFlushError ?? (() => {});
    const intervalMs = options.flushIntervalMs ?? 1000;
    if (intervalMs > 0) {
      this.#timer = setInterval(() => this.#flushInBackground(), intervalMs);
      this.#timer.unref();
    }
  }

  get stats(): UsageRecorderStats {
    return { buffered: this.#buffer.length, ...this.#stats };
  }

  /**
   * Accepts one event. Returns nothing while the buffer has room; when it is full, returns a
   * promise that resolves once a flush has made room: await it.
   */
  record(event: UsageEvent): void | Promise<void> {
    if (this.#closed) throw new Error('the usage recorder is closed');
    const full = this.#buffer.length >= this.#maxBuffered;
    this.#buffer.push(boundText(event));
    this.#accepted += 1;
    if (!full) return;
    this.#stats.backpressureWaits += 1;
    if (this.#waiters.length === 0) {
      this.#onBackpressure(this.stats);
      this.#flushInBackground();
    }
    return new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  /**
   * Writes every event accepted before the call. Rejects if the store fails; the events then
   * stay buffered for the next attempt.
   */
  async flush(): Promise<void> {
    const target = this.#accepted;
    while (this.#accepted - this.#buffer.length < target) await this.#writeBatch();
  }

  /** Stops the timer and writes everything. Call it on shutdown (SIGTERM), before the store closes. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    await this.flush();
  }

  #flushInBackground(): void {
    // A write in progress carries on by itself; the next tick picks up what it leaves.
    if (this.#writing || this.#buffer.length === 0) return;
    this.flush().catch((error: unknown) => this.#onFlushError(error, this.stats));
  }

  /** Writes the head of the buffer, or joins the write already in flight. */
  #writeBatch(): Promise<void> {
    if (this.#writing) return this.#writing;
    const size = Math.min(this.#buffer.length, this.#maxBatchSize);
    const batch = this.#buffer.slice(0, size);
    const write = (async () => {
      try {
        await this.#usage.insertBatch(batch);
      } catch (error) {
        this.#stats.flushFailures += 1;
        throw error;
      }
      // Only `record` appends, and only at the tail: the head is still this batch.
      this.#buffer.splice(0, size);
      this.#stats.flushed += size;
      this.#stats.flushes += 1;
      if (this.#buffer.length < this.#maxBuffered) this.#releaseWaiters();
    })();
    const settled = write.finally(() => {
      if (this.#writing === settled) this.#writing = null;
    });
    this.#writing = settled;
    return settled;
  }

  #releaseWaiters(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const resolve of waiters) resolve();
  }
}

function boundText(event: UsageEvent): UsageEvent {
  const route = event.route !== null && event.route.length > RAW_TEXT_MAX;
  const userAgent = event.userAgent !== null && event.userAgent.length > RAW_TEXT_MAX;
  if (!route && !userAgent) return event;
  return {
    ...event,
    route: route ? usageText(event.route) : event.route,
    userAgent: userAgent ? usageText(event.userAgent) : event.userAgent,
  };
}
