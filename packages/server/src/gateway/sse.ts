import { StringDecoder } from 'node:string_decoder';

/**
 * Splits a text/event-stream into whole events as bytes arrive. An event is handed on the
 * moment its blank line arrives, so splitting adds no delay to a stream; a partial event
 * waits only for its own remaining bytes.
 */
export class SseSplitter {
  readonly #decoder = new StringDecoder('utf8');
  #pending = '';

  /** The complete events in `chunk` (and before it), without their blank-line terminator. */
  push(chunk: Buffer | string): string[] {
    this.#pending += typeof chunk === 'string' ? chunk : this.#decoder.write(chunk);
    const events: string[] = [];
    const boundary = /\r?\n\r?\n/g;
    let start = 0;
    for (let match = boundary.exec(this.#pending); match; match = boundary.exec(this.#pending)) {
      events.push(this.#pending.slice(start, match.index));
      start = match.index + match[0].length;
    }
    this.#pending = this.#pending.slice(start);
    return events;
  }

  /** Whatever is left when the stream ends: an event that never got its blank line. */
  end(): string {
    const rest = this.#pending + this.#decoder.end();
    this.#pending = '';
    return rest;
  }
}

export interface SseEvent {
  event: string | null;
  data: string;
}

/** The `event:` name and the joined `data:` lines of one event block. */
export function parseSseEvent(block: string): SseEvent {
  let event: string | null = null;
  const data: string[] = [];
  for (const line of block.split(/\r?\n/)) {
    if (line.startsWith('data:')) data.push(line.slice(line[5] === ' ' ? 6 : 5));
    else if (line.startsWith('event:')) event = line.slice(line[6] === ' ' ? 7 : 6).trim();
  }
  return { event, data: data.join('\n') };
}
