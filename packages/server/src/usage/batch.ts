import type { VerifyCode } from '../verify/codes.ts';
import type { UsageEntryPoint, UsageEvent } from './types.ts';

/**
 * Usage events in columns: how the recorder buffers them and how a batch crosses to a writer
 * thread. Recording an event copies its numbers into a typed array and its texts into a
 * per-batch string table, so the buffer holds no object per event (nothing for the garbage
 * collector to promote and trace while the events wait up to a flush interval), and handing
 * a batch to a worker is a copy of two typed arrays and a few distinct strings instead of a
 * structured clone of thousands of objects.
 *
 * Numbers: `at, status, latencyMs, cost, tokensIn, tokensOut, costMicros` (null as NaN).
 * Texts: `keyId, projectId, ownerId, env, outcome, entryPoint, route, clientIp, userAgent`,
 * each an index into `table` (0 = null).
 */
export interface UsageBatch {
  readonly size: number;
  readonly numbers: Float64Array<ArrayBuffer>;
  readonly texts: Uint32Array<ArrayBuffer>;
  readonly table: readonly string[];
}

const NUMBERS = 7;
const TEXTS = 9;
/** Index 0 of the table stands for null. */
const NULL_TEXT = 0;

/**
 * Collects up to `capacity` events into columns. `seal()` closes it to new events; `batch()`
 * then copies what it holds into a trimmed `UsageBatch` (a fresh copy each time, which a
 * writer may transfer to its thread); `reset()` makes the builder ready for a new batch,
 * reusing its arrays.
 */
export class UsageBatchBuilder {
  readonly capacity: number;
  #size = 0;
  readonly #numbers: Float64Array<ArrayBuffer>;
  readonly #texts: Uint32Array<ArrayBuffer>;
  #table: string[] = [''];
  readonly #index = new Map<string, number>();
  /** The last text seen per column and its index: most events repeat their neighbour's. */
  readonly #lastText: Array<string | null> = new Array<string | null>(TEXTS).fill(null);
  readonly #lastIndex = new Uint32Array(TEXTS);
  #sealed = false;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.#numbers = new Float64Array(capacity * NUMBERS);
    this.#texts = new Uint32Array(capacity * TEXTS);
  }

  get size(): number {
    return this.#size;
  }

  get full(): boolean {
    return this.#size >= this.capacity;
  }

  get sealed(): boolean {
    return this.#sealed;
  }

  add(event: UsageEvent): void {
    if (this.#sealed) throw new Error('usage batch already sealed');
    if (this.#size >= this.capacity) throw new Error('usage batch full');
    const i = this.#size;
    const n = this.#numbers;
    const o = i * NUMBERS;
    n[o] = event.at;
    n[o + 1] = event.status;
    n[o + 2] = event.latencyMs;
    n[o + 3] = event.cost;
    n[o + 4] = event.tokensIn ?? Number.NaN;
    n[o + 5] = event.tokensOut ?? Number.NaN;
    n[o + 6] = event.costMicros ?? Number.NaN;
    const t = this.#texts;
    const p = i * TEXTS;
    t[p] = this.#intern(0, event.keyId);
    t[p + 1] = this.#intern(1, event.projectId);
    t[p + 2] = this.#intern(2, event.ownerId);
    t[p + 3] = this.#intern(3, event.env);
    t[p + 4] = this.#intern(4, event.outcome);
    t[p + 5] = this.#intern(5, event.entryPoint);
    t[p + 6] = this.#intern(6, event.route);
    t[p + 7] = this.#intern(7, event.clientIp);
    t[p + 8] = this.#intern(8, event.userAgent);
    this.#size = i + 1;
  }

  /** Takes no more events. */
  seal(): void {
    this.#sealed = true;
  }

  /** A copy of the events held, trimmed to their number. */
  batch(): UsageBatch {
    return {
      size: this.#size,
      numbers: this.#numbers.slice(0, this.#size * NUMBERS),
      texts: this.#texts.slice(0, this.#size * TEXTS),
      table: this.#table.slice(),
    };
  }

  /** Empty and open again, with the same arrays. */
  reset(): void {
    this.#size = 0;
    this.#sealed = false;
    this.#table = [''];
    this.#index.clear();
    this.#lastText.fill(null);
  }

  #intern(column: number, text: string | null): number {
    if (text === null) return NULL_TEXT;
    if (text === this.#lastText[column]) return this.#lastIndex[column]!;
    let index = this.#index.get(text);
    if (index === undefined) {
      index = this.#table.length;
      this.#table.push(text);
      this.#index.set(text, index);
    }
    this.#lastText[column] = text;
    this.#lastIndex[column] = index;
    return index;
  }
}

/** Encodes events as one batch (tests, and writers handed objects). */
export function usageBatchOf(events: readonly UsageEvent[]): UsageBatch {
  const builder = new UsageBatchBuilder(Math.max(1, events.length));
  for (const event of events) builder.add(event);
  return builder.batch();
}

/** The events of a batch, in order, as plain objects. */
export function usageEventsOf(batch: UsageBatch): UsageEvent[] {
  const { size, numbers: n, texts: t, table } = batch;
  const text = (index: number): string | null => (index === NULL_TEXT ? null : table[index]!);
  const number = (value: number): number | null => (Number.isNaN(value) ? null : value);
  const events = new Array<UsageEvent>(size);
  for (let i = 0; i < size; i++) {
    const o = i * NUMBERS;
    const p = i * TEXTS;
    events[i] = {
      at: n[o]!,
      keyId: text(t[p]!),
      projectId: text(t[p + 1]!),
      ownerId: text(t[p + 2]!),
      env: text(t[p + 3]!),
      outcome: text(t[p + 4]!) as VerifyCode,
      entryPoint: text(t[p + 5]!) as UsageEntryPoint,
      route: text(t[p + 6]!),
      status: n[o + 1]!,
      latencyMs: n[o + 2]!,
      clientIp: text(t[p + 7]!),
      userAgent: text(t[p + 8]!),
      cost: n[o + 3]!,
      tokensIn: number(n[o + 4]!),
      tokensOut: number(n[o + 5]!),
      costMicros: number(n[o + 6]!),
    };
  }
  return events;
}
