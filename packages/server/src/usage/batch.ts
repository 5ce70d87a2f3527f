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
 * Numbers: `at, status, latency sum, cost, tokensIn, tokensOut, costMicros, count, unpriced`
 * (null as NaN; unpriced 1 or 0). Texts: `keyId, projectId, ownerId, env, outcome, entryPoint, route, clientIp,
 * userAgent`, each an index into `table` (0 = null).
 *
 * Repeats fold: an event identical to the row before it (same second, same texts, status and
 * cost; not priced) adds to that row's count and latency sum instead of taking a row. A busy
 * node sees the same key, client and route many times a second, so a batch grows with the
 * traffic's variety rather than its rate, and so does the work of the thread that writes it
 * (the writer groups what is left across the batch: usage/group.ts).
 */
export interface UsageBatch {
  readonly size: number;
  readonly numbers: Float64Array<ArrayBuffer>;
  readonly texts: Uint32Array<ArrayBuffer>;
  readonly table: readonly string[];
}

const NUMBERS = 9;
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
  /** Rows, that is distinct runs of events. */
  readonly capacity: number;
  #size = 0;
  #events = 0;
  readonly #numbers: Float64Array<ArrayBuffer>;
  readonly #texts: Uint32Array<ArrayBuffer>;
  #table: string[] = [''];
  readonly #index = new Map<string, number>();
  /**
   * The last row's texts as they were given, and whether it is priced: for the repeat check,
   * and so that a text the row before had too takes its index from there (most do).
   */
  readonly #rowTexts = new Array<string | null>(TEXTS).fill(null);
  #lastRowPriced = false;
  #sealed = false;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.#numbers = new Float64Array(capacity * NUMBERS);
    this.#texts = new Uint32Array(capacity * TEXTS);
  }

  /** Rows held. */
  get size(): number {
    return this.#size;
  }

  /** Events held (a folded row holds several). */
  get events(): number {
    return this.#events;
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
    const count = event.count ?? 1;
    this.#events += count;
    const n = this.#numbers;
    if (this.#repeatsLastRow(event)) {
      const o = (this.#size - 1) * NUMBERS;
      n[o + 2]! += event.latencyMs * count;
      n[o + 7]! += count;
      return;
    }
    const p = this.#size * TEXTS;
    this.#putText(p, 0, event.keyId);
    this.#putText(p, 1, event.projectId);
    this.#putText(p, 2, event.ownerId);
    this.#putText(p, 3, event.env);
    this.#putText(p, 4, event.outcome);
    this.#putText(p, 5, event.entryPoint);
    this.#putText(p, 6, event.route);
    this.#putText(p, 7, event.clientIp);
    this.#putText(p, 8, event.userAgent);
    const o = this.#size * NUMBERS;
    n[o] = event.at;
    n[o + 1] = event.status;
    n[o + 2] = event.latencyMs * count;
    n[o + 3] = event.cost;
    n[o + 4] = event.tokensIn ?? Number.NaN;
    n[o + 5] = event.tokensOut ?? Number.NaN;
    n[o + 6] = event.costMicros ?? Number.NaN;
    n[o + 7] = count;
    n[o + 8] = event.unpriced ? 1 : 0;
    this.#lastRowPriced = isPriced(event);
    this.#size += 1;
  }

  /**
   * Whether the event repeats the last row: same second, texts, status and cost. Priced
   * events (tokens, money) never fold, as in `groupUsageEvents`. Texts are compared as given
   * (the same strings, request after request, in the common case), before any interning.
   */
  #repeatsLastRow(event: UsageEvent): boolean {
    if (this.#size === 0 || this.#lastRowPriced || isPriced(event)) return false;
    const n = this.#numbers;
    const o = (this.#size - 1) * NUMBERS;
    if (
      Math.floor(n[o]! / 1000) !== Math.floor(event.at / 1000) ||
      n[o + 1] !== event.status ||
      n[o + 3] !== event.cost
    ) {
      return false;
    }
    const texts = this.#rowTexts;
    return (
      event.keyId === texts[0] &&
      event.projectId === texts[1] &&
      event.ownerId === texts[2] &&
      event.env === texts[3] &&
      event.outcome === texts[4] &&
      event.entryPoint === texts[5] &&
      event.route === texts[6] &&
      event.clientIp === texts[7] &&
      event.userAgent === texts[8]
    );
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
    this.#events = 0;
    this.#sealed = false;
    this.#table = [''];
    this.#index.clear();
  }

  /** Writes a text of the row starting at `p`: the row before's index if it had the same. */
  #putText(p: number, column: number, text: string | null): void {
    const t = this.#texts;
    const same = this.#size > 0 && text === this.#rowTexts[column];
    t[p + column] = same ? t[p - TEXTS + column]! : this.#intern(text);
    this.#rowTexts[column] = text;
  }

  #intern(text: string | null): number {
    if (text === null) return NULL_TEXT;
    let index = this.#index.get(text);
    if (index === undefined) {
      index = this.#table.length;
      this.#table.push(text);
      this.#index.set(text, index);
    }
    return index;
  }
}

const isPriced = (event: UsageEvent): boolean =>
  event.tokensIn !== null ||
  event.tokensOut !== null ||
  event.costMicros !== null ||
  event.unpriced === true;

/** Encodes events as one batch (tests, and writers handed objects). */
export function usageBatchOf(events: readonly UsageEvent[]): UsageBatch {
  const builder = new UsageBatchBuilder(Math.max(1, events.length));
  for (const event of events) builder.add(event);
  return builder.batch();
}

/** The events of a batch, in order, as plain objects (a folded run as one, with its `count`). */
export function usageEventsOf(batch: UsageBatch): UsageEvent[] {
  const { size, numbers: n, texts: t, table } = batch;
  const text = (index: number): string | null => (index === NULL_TEXT ? null : table[index]!);
  const number = (value: number): number | null => (Number.isNaN(value) ? null : value);
  const events = new Array<UsageEvent>(size);
  for (let i = 0; i < size; i++) {
    const o = i * NUMBERS;
    const p = i * TEXTS;
    const count = n[o + 7]!;
    const event: UsageEvent = {
      at: n[o]!,
      keyId: text(t[p]!),
      projectId: text(t[p + 1]!),
      ownerId: text(t[p + 2]!),
      env: text(t[p + 3]!),
      outcome: text(t[p + 4]!) as VerifyCode,
      entryPoint: text(t[p + 5]!) as UsageEntryPoint,
      route: text(t[p + 6]!),
      status: n[o + 1]!,
      latencyMs: n[o + 2]! / count,
      clientIp: text(t[p + 7]!),
      userAgent: text(t[p + 8]!),
      cost: n[o + 3]!,
      tokensIn: number(n[o + 4]!),
      tokensOut: number(n[o + 5]!),
      costMicros: number(n[o + 6]!),
    };
    if (count > 1) event.count = count;
    if (n[o + 8] === 1) event.unpriced = true;
    events[i] = event;
  }
  return events;
}
