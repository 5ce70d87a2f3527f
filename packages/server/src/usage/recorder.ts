import type { UsageRepository } from '../store/usage-repository.ts';
import { type UsageBatch, UsageBatchBuilder, usageEventsOf } from './batch.ts';
import { usageText } from './text.ts';
import type { UsageEvent } from './types.ts';

/**
 * Where a recorder writes its batches when the store can take them in columns, off the
 * recorder's thread (SQLite: a worker thread with its own connection). `writeBatch` has the
 * same contract as `UsageRepository.insertBatch`: one transaction, events and roll-ups
 * together, rejected as a whole.
 */
export interface UsageBatchWriter {
  /**
   * Gets ready for the first batch (starts its thread); called on the first `record`, so
   * that the first flush does not wait for a thread to start.
   */
  prepare?(): void;
  /** `batch` is the writer's to keep (a fresh copy for each call): it may transfer its arrays. */
  writeBatch(batch: UsageBatch): Promise<void>;
  /** Releases the writer (its thread); called by the recorder after its last flush. */
  close(): Promise<void>;
}

/** What a recorder writes to: a store's usage repository, or a batch writer. */
export type UsageSink = Pick<UsageRepository, 'insertBatch'> | UsageBatchWriter;

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
  /** Gateway calls recorded whose model had no price (their cost is unknown) since start. */
  unpriced: number;
}

export interface UsageRecorderOptions {
  /**
   * The longest an event waits in the buffer: the buffer is written at least this often, and
   * a full batch (`maxBatchSize` events) at once. 0 = only on `flush()` and `close()`
   * (tests). Default 1000.
   */
  flushIntervalMs?: number;
  /**
   * Buffered rows (in-flight batch included) above which `record` makes callers wait. A run of
   * repeats folded into one row counts once: what fills memory and the writer's queue is rows.
   */
  maxBuffered?: number;
  /** Rows per transaction: a batch is written as soon as it holds this many. Default 5000. */
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

const MAX_SPARE_BATCHES = 2;

/**
 * Records usage events off the request path: `record` appends to a buffer and returns at
 * once; a timer writes the buffer in batches, each batch one transaction (events and
 * roll-ups together).
 *
 * The buffer is a queue of column batches (`batch.ts`): recording copies the event's fields
 * and keeps no reference to the event, so a request leaves nothing behind for the garbage
 * collector. A batch is sealed when its write starts, leaves the queue once written, and is
 * reused for later events.
 *
 * Contract:
 * - a crash loses at most the events of the last flush interval plus the batch in flight;
 *   `close()` writes everything;
 * - nothing is dropped: when `maxBuffered` rows are waiting, `record` still accepts the
 *   event but returns a promise that resolves once a flush has made room, and callers await
 *   it (back-pressure instead of loss);
 * - a failed write keeps its events, in order, at the head of the buffer for the next try;
 * - one write at a time.
 */
export class UsageRecorder {
  #prepare: (() => void) | null = null;
  readonly #write: (batch: UsageBatchBuilder) => Promise<void>;
  readonly #closeSink: () => Promise<void>;
  readonly #maxBuffered: number;
  readonly #maxBatchSize: number;
  readonly #onBackpressure: (stats: UsageRecorderStats) => void;
  readonly #onFlushError: (error: unknown, stats: UsageRecorderStats) => void;
  readonly #timer: NodeJS.Timeout | undefined;
  /** Write a batch as soon as it is full (when the recorder flushes by itself at all). */
  readonly #eager: boolean;
  /** Accepted, not yet written events, oldest first; the batch in flight is the head. */
  readonly #batches: UsageBatchBuilder[] = [];
  /** Written batches kept for reuse: a busy node allocates no new arrays per batch. */
  readonly #spare: UsageBatchBuilder[] = [];
  /** Events in `#batches`. */
  #buffered = 0;
  /** Rows in `#batches`: what back-pressure bounds. */
  #bufferedRows = 0;
  #accepted = 0;
  #writing: Promise<void> | null = null;
  #waiters: Array<() => void> = [];
  #closed = false;
  #sinkClosed = false;
  readonly #stats = { flushed: 0, flushes: 0, backpressureWaits: 0, flushFailures: 0, unpriced: 0 };

  /**
   * `sink`: a batch writer (written in columns, typically on another thread) or a
   * repository (the batch is turned back into events and written on this thread). The
   * recorder closes a batch writer after its last flush.
   */
  constructor(sink: UsageSink, options: UsageRecorderOptions = {}) {
    if ('writeBatch' in sink) {
      this.#prepare = () => sink.prepare?.();
      this.#write = (batch) => sink.writeBatch(batch.batch());
      this.#closeSink = () => sink.close();
    } else {
      this.#write = (batch) => sink.insertBatch(usageEventsOf(batch.batch()));
      this.#closeSink = async () => {};
    }
    this.#maxBuffered = options.maxBuffered ?? 100_000;
    this.#maxBatchSize = options.maxBatchSize ?? 5000;
    this.#onBackpressure = options.onBackpressure ?? (() => {});
    this.#onFlushError = options.onFlushError ?? (() => {});
    const intervalMs = options.flushIntervalMs ?? 1000;
    this.#eager = intervalMs > 0;
    if (intervalMs > 0) {
      this.#timer = setInterval(() => this.#flushInBackground(), intervalMs);
      this.#timer.unref();
    }
  }

  get stats(): UsageRecorderStats {
    return { buffered: this.#buffered, ...this.#stats };
  }

  /**
   * Accepts one event. Returns nothing while the buffer has room; when it is full, returns a
   * promise that resolves once a flush has made room: await it.
   */
  record(event: UsageEvent): void | Promise<void> {
    if (this.#closed) throw new Error('the usage recorder is closed');
    const full = this.#bufferedRows >= this.#maxBuffered;
    let tail = this.#batches[this.#batches.length - 1];
    if (!tail || tail.sealed || tail.full) {
      if (this.#prepare) {
        this.#prepare();
        this.#prepare = null;
      }
      tail = this.#spare.pop() ?? new UsageBatchBuilder(this.#maxBatchSize);
      this.#batches.push(tail);
    }
    const rows = tail.size;
    tail.add(boundText(event));
    this.#bufferedRows += tail.size - rows;
    const count = event.count ?? 1;
    this.#buffered += count;
    this.#accepted += count;
    if (event.unpriced) this.#stats.unpriced += count;
    // A busy node fills batches faster than the timer ticks: writing each as soon as it is
    // full keeps the buffer (and what a crash could lose) to a batch or two, and the writer
    // busy in step with the traffic instead of in bursts that would fill the buffer and make
    // callers wait.
    if (tail.full) this.#writeFullBatches();
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
    while (this.#accepted - this.#buffered < target) await this.#writeBatch();
  }

  /**
   * Stops the timer and writes everything, then releases the writer. Call it on shutdown
   * (SIGTERM), before the store closes.
   */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    await this.flush();
    if (!this.#sinkClosed) {
      this.#sinkClosed = true;
      await this.#closeSink();
    }
  }

  #flushInBackground(): void {
    // A write in progress carries on by itself; the next tick picks up what it leaves.
    if (this.#writing || this.#buffered === 0) return;
    this.flush().catch((error: unknown) => this.#onFlushError(error, this.stats));
  }

  /** Writes full batches from the head of the buffer, one after the other, in the background. */
  #writeFullBatches(): void {
    if (!this.#eager || this.#writing || !this.#batches[0]?.full) return;
    this.#writeBatch().catch((error: unknown) => this.#onFlushError(error, this.stats));
  }

  /** Writes the head of the buffer, or joins the write already in flight. */
  #writeBatch(): Promise<void> {
    if (this.#writing) return this.#writing;
    const batch = this.#batches[0]!;
    const write = (async () => {
      batch.seal();
      try {
        // Sealed: later events go to a new batch, and a retry writes the same events.
        await this.#write(batch);
      } catch (error) {
        this.#stats.flushFailures += 1;
        throw error;
      }
      // Only `record` appends, and only at the tail: the head is still this batch.
      this.#batches.shift();
      this.#buffered -= batch.events;
      this.#bufferedRows -= batch.size;
      this.#stats.flushed += batch.events;
      this.#stats.flushes += 1;
      batch.reset();
      if (this.#spare.length < MAX_SPARE_BATCHES) this.#spare.push(batch);
      if (this.#bufferedRows < this.#maxBuffered) this.#releaseWaiters();
    })();
    const settled = write.finally(() => {
      if (this.#writing === settled) this.#writing = null;
    });
    // Batches that filled up while this one was written go next (after a success only: a
    // failing store is retried by the timer, not in a tight loop).
    settled.then(
      () => this.#writeFullBatches(),
      () => {},
    );
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
