import { randomUUID } from 'node:crypto';
import { withDeadline as deadline } from '../clock/index.ts';

/**
 * What a node must forget when something changes. The single-node channel delivers in
 * process; the cluster channels (Redis pub/sub in redis.ts, PostgreSQL LISTEN/NOTIFY in
 * postgres.ts) deliver the same messages to every node. Messages carry ids and hashes only,
 * never a plaintext key. See README.md for the guarantees, in numbers.
 */
export type Invalidation =
  /**
   * `revision`: the store's revision of the change (store/migrations/008-key-revisions.ts).
   * A cache never keeps a record of this key older than it; absent (a deletion, a node of an
   * older build), any load of the key that started before the message is dropped.
   */
  | { type: 'key'; keyId: string; creditsChanged?: boolean; revision?: number }
  | { type: 'owner'; ownerId: string; creditsChanged?: boolean }
  | { type: 'key-created'; hash: string }
  | { type: 'project'; projectId: string }
  /** A gateway upstream changed, was renamed (one message per name) or deleted. */
  | { type: 'upstream'; upstreamId: string; name: string };

export interface InvalidationChannel {
  /**
   * Delivers `message` to this node's listeners (synchronously, before the first await) and
   * to every other node. A cluster channel resolves once the message is handed to the server
   * or, when the server cannot take it now, queued to be re-sent; it rejects only for a message
   * that is not an `Invalidation` (TypeError) or is too large (RangeError).
   */
  publish(message: Invalidation): Promise<void>;
  subscribe(listener: (message: Invalidation) => void): void;
  /**
   * Messages may have been lost (the link to the other nodes was down and is back): the
   * listener must not trust anything an invalidation could have changed (the caller wires
   * `cache.resync(); owners.markForRevalidation()`: re-read before use). Cluster channels
   * only; an in-process channel never loses a message and may leave this out.
   */
  onResync?(listener: () => void): void;
  /**
   * The subscription was lost (`healthy` turned false): messages published from `silentForMs`
   * before this call on may be missed until the next resync. `silentForMs` reaches back to
   * the last moment the link was known to carry everything (it was opened, or answered a
   * heartbeat), since a silent link is only noticed by a heartbeat. Once per loss, not per
   * reconnect attempt. Cluster channels only.
   */
  onLost?(listener: (silentForMs: number, error: Error) => void): void;
  /**
   * Connected and subscribed: this node hears the other nodes' invalidations now. For
   * /readyz. Absent means always (in-process).
   */
  readonly healthy?: boolean;
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

// The backends import the shared machinery below from this module, and this module
// re-exports them: an import cycle, which is safe because neither side uses the other's
// bindings while modules are evaluated (no `extends` across it, no top-level calls). Keep it so.
export {
  PostgresInvalidationChannel,
  type PostgresInvalidationChannelOptions,
} from './postgres.ts';
export { RedisInvalidationChannel, type RedisInvalidationChannelOptions } from './redis.ts';

// ---------------------------------------------------------------------------------------
// Validation and the wire format, shared by the cluster channels.
// ---------------------------------------------------------------------------------------

const KNOWN_TYPES = new Set<string>(['key', 'owner', 'key-created', 'project', 'upstream']);

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isId = (value: unknown): value is string => typeof value === 'string' && value.length > 0;
const isOptionalBoolean = (value: unknown) => value === undefined || typeof value === 'boolean';
const isOptionalRevision = (value: unknown) =>
  value === undefined || (Number.isSafeInteger(value) && (value as number) >= 0);

/**
 * A clean copy of `value` if it is an `Invalidation` (known type, every field of the right
 * type; unknown extra fields are dropped), else null. Never throws.
 */
export function parseInvalidation(value: unknown): Invalidation | null {
  if (!isRecord(value)) return null;
  switch (value.type) {
    case 'key': {
      if (!isId(value.keyId) || !isOptionalBoolean(value.creditsChanged)) return null;
      if (!isOptionalRevision(value.revision)) return null;
      const message: Invalidation = { type: 'key', keyId: value.keyId };
      if (value.creditsChanged !== undefined)
        message.creditsChanged = value.creditsChanged as boolean;
      if (value.revision !== undefined) message.revision = value.revision as number;
      return message;
    }
    case 'owner':
      if (!isId(value.ownerId) || !isOptionalBoolean(value.creditsChanged)) return null;
      return value.creditsChanged === undefined
        ? { type: 'owner', ownerId: value.ownerId }
        : {
            type: 'owner',
            ownerId: value.ownerId,
            creditsChanged: value.creditsChanged as boolean,
          };
    case 'key-created':
      return isId(value.hash) ? { type: 'key-created', hash: value.hash } : null;
    case 'project':
      return isId(value.projectId) ? { type: 'project', projectId: value.projectId } : null;
    case 'upstream':
      return isId(value.upstreamId) && isId(value.name)
        ? { type: 'upstream', upstreamId: value.upstreamId, name: value.name }
        : null;
    default:
      return null;
  }
}

/** The version of the envelope this build writes and reads. */
export const WIRE_VERSION = 1;
/**
 * The largest payload either backend sends, in UTF-8 bytes: PostgreSQL's NOTIFY payload must
 * be shorter than 8000 bytes, and Redis keeps the same limit so a message valid on one backend
 * is valid on the other. Real messages are about 100 bytes.
 */
export const MAX_WIRE_BYTES = 7999;

/** `{"v":1,"from":"<node id>","m":{...}}`: the node id lets a node skip its own echo. */
export function encodeWire(from: string, message: Invalidation): string {
  return JSON.stringify({ v: WIRE_VERSION, from, m: message });
}

export type WireDecoding =
  | { kind: 'message'; from: string; message: Invalidation }
  /** Well-formed, from a newer build (a higher version or an unknown type): cannot be applied. */
  | { kind: 'newer'; from: string; reason: string }
  | { kind: 'malformed'; reason: string };

export function decodeWire(payload: string): WireDecoding {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return { kind: 'malformed', reason: 'not JSON' };
  }
  if (!isRecord(value)) return { kind: 'malformed', reason: 'not an object' };
  const { v, from, m } = value;
  if (!Number.isSafeInteger(v) || (v as number) < 1) {
    return { kind: 'malformed', reason: 'no envelope version' };
  }
  if (!isId(from)) return { kind: 'malformed', reason: 'no sender id' };
  if ((v as number) > WIRE_VERSION) {
    return { kind: 'newer', from, reason: `envelope version ${String(v)}` };
  }
  if (!isRecord(m)) return { kind: 'malformed', reason: 'no message' };
  if (typeof m.type === 'string' && !KNOWN_TYPES.has(m.type)) {
    return { kind: 'newer', from, reason: `unknown message type ${JSON.stringify(m.type)}` };
  }
  const message = parseInvalidation(m);
  if (!message) return { kind: 'malformed', reason: 'not a valid invalidation' };
  return { kind: 'message', from, message };
}

// ---------------------------------------------------------------------------------------
// The part every cluster channel shares: listeners, local delivery, the echo filter, resync
// and the outbox. Internal to this folder (exported for redis.ts and postgres.ts).
// ---------------------------------------------------------------------------------------

export class InvalidationChannelError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InvalidationChannelError';
  }
}

export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

export class DeadlineError extends InvalidationChannelError {
  constructor(message: string) {
    super(message);
    this.name = 'DeadlineError';
  }
}

/** Settles with `work`, or rejects with a `DeadlineError` after `ms` (a late result is ignored). */
export function withDeadline<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  return deadline(work, ms, () => new DeadlineError(message));
}

export function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

/** Capped exponential backoff with jitter: 0 for the first retry, then 50 ms doubling. */
export function backoffMs(failures: number, maxMs: number): number {
  if (failures <= 0) return 0;
  const base = 50 * 2 ** Math.min(failures - 1, 16);
  return Math.min(maxMs, base + Math.floor(Math.random() * 50));
}

export interface ChannelCoreOptions {
  nodeId?: string;
  onError: (error: Error) => void;
  /** Sends one payload to the server; rejects when it cannot (offline, timed out). */
  send: (payload: string) => Promise<void>;
  /** How long a message that could not be sent is retried before it is dropped. */
  retryForMs: number;
  /** At most this many unsent messages are kept (the oldest are dropped first). */
  maxPending: number;
  maxRetryDelayMs: number;
}

export class ChannelCore {
  readonly nodeId: string;
  readonly #options: ChannelCoreOptions;
  readonly #listeners: Array<(message: Invalidation) => void> = [];
  readonly #resyncListeners: Array<() => void> = [];
  readonly #lostListeners: Array<(silentForMs: number, error: Error) => void> = [];
  readonly #outbox: Array<{ payload: string; at: number }> = [];
  #flushing: Promise<void> | null = null;
  #flushTimer: NodeJS.Timeout | undefined;
  #flushFailures = 0;
  #closed = false;

  constructor(options: ChannelCoreOptions) {
    this.nodeId = options.nodeId ?? randomUUID();
    this.#options = options;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Messages waiting to be re-sent. */
  get pending(): number {
    return this.#outbox.length;
  }

  subscribe(listener: (message: Invalidation) => void): void {
    if (!this.#closed) this.#listeners.push(listener);
  }

  onResync(listener: () => void): void {
    if (!this.#closed) this.#resyncListeners.push(listener);
  }

  onLost(listener: (silentForMs: number, error: Error) => void): void {
    if (!this.#closed) this.#lostListeners.push(listener);
  }

  /** The subscription is lost (see `InvalidationChannel.onLost`). Never throws. */
  lost(silentForMs: number, error: Error): void {
    if (this.#closed) return;
    for (const listener of this.#lostListeners) {
      try {
        listener(silentForMs, error);
      } catch (failure) {
        this.#options.onError(asError(failure));
      }
    }
  }

  async publish(message: Invalidation): Promise<void> {
    const clean = parseInvalidation(message);
    if (!clean) throw new TypeError('not an invalidation message');
    const payload = encodeWire(this.nodeId, clean);
    const bytes = Buffer.byteLength(payload);
    if (bytes > MAX_WIRE_BYTES) {
      throw new RangeError(`an invalidation message is ${bytes} bytes, over ${MAX_WIRE_BYTES}`);
    }
    if (this.#closed) {
      this.#report('publish after close: the message was not delivered');
      return;
    }
    // Here first, whatever the server's state: this node's own cache never serves a change
    // it has just made. The echo from the server is skipped by node id.
    this.#deliver(clean);
    if (this.#outbox.length === 0) {
      try {
        await this.#options.send(payload);
        return;
      } catch (error) {
        this.#options.onError(
          new InvalidationChannelError(
            'publishing an invalidation failed; it is queued and re-sent when the server answers',
            { cause: error },
          ),
        );
      }
    }
    this.#enqueue(payload);
  }

  /** A payload from the wire. Never throws (it runs inside the client's event handlers). */
  receive(payload: unknown): void {
    try {
      if (this.#closed) return;
      if (typeof payload !== 'string') {
        this.#report('ignored an invalidation that is not a string');
        return;
      }
      const decoded = decodeWire(payload);
      switch (decoded.kind) {
        case 'malformed':
          this.#report(`ignored a malformed invalidation (${decoded.reason})`);
          return;
        case 'newer':
          if (decoded.from === this.nodeId) return;
          // A node of a newer build sent something this one cannot apply: forgetting everything
          // is the safe reading of a message it does not understand.
          this.#report(`cannot apply an invalidation (${decoded.reason}); resyncing instead`);
          this.resync();
          return;
        case 'message':
          if (decoded.from === this.nodeId) return;
          this.#deliver(decoded.message);
          return;
      }
    } catch (error) {
      this.#options.onError(asError(error));
    }
  }

  /** Tells the resync listeners that messages may have been lost. Never throws. */
  resync(): void {
    if (this.#closed) return;
    for (const listener of this.#resyncListeners) {
      try {
        listener();
      } catch (error) {
        this.#options.onError(asError(error));
      }
    }
  }

  /** Re-sends queued messages, in order; stops at the first failure and retries later. */
  flush(): Promise<void> {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    this.#flushing ??= this.#flushNow().finally(() => {
      this.#flushing = null;
    });
    return this.#flushing;
  }

  /** Stops delivering and retrying; tries once to send what is queued (if `canSend`). */
  async close(canSend: boolean): Promise<void> {
    if (this.#closed) return;
    if (canSend && this.#outbox.length > 0) await this.flush().catch(() => {});
    this.#closed = true;
    clearTimeout(this.#flushTimer);
    if (this.#outbox.length > 0) {
      this.#report(`closed with ${this.#outbox.length} invalidations not sent`);
    }
    this.#outbox.length = 0;
    this.#listeners.length = 0;
    this.#resyncListeners.length = 0;
    this.#lostListeners.length = 0;
  }

  async #flushNow(): Promise<void> {
    while (this.#outbox.length > 0 && !this.#closed) {
      this.#dropExpired();
      const next = this.#outbox[0];
      if (!next) return;
      try {
        await this.#options.send(next.payload);
      } catch {
        this.#flushFailures++;
        this.#scheduleFlush();
        return;
      }
      if (this.#outbox[0] === next) this.#outbox.shift();
      this.#flushFailures = 0;
    }
  }

  #enqueue(payload: string): void {
    this.#outbox.push({ payload, at: performance.now() });
    const excess = this.#outbox.length - this.#options.maxPending;
    if (excess > 0) {
      this.#outbox.splice(0, excess);
      this.#report(
        `${excess} queued invalidations dropped (more than ${this.#options.maxPending})`,
      );
    }
    this.#scheduleFlush();
  }

  #dropExpired(): void {
    const cutoff = performance.now() - this.#options.retryForMs;
    let expired = 0;
    while ((this.#outbox[0]?.at ?? Number.POSITIVE_INFINITY) < cutoff) {
      this.#outbox.shift();
      expired++;
    }
    if (expired > 0) {
      this.#report(
        `${expired} invalidations dropped after ${this.#options.retryForMs} ms unsent ` +
          '(the other nodes’ cache max age has bounded them by now)',
      );
    }
  }

  #scheduleFlush(): void {
    if (this.#closed || this.#flushTimer !== undefined || this.#flushing) return;
    const delay = Math.max(100, backoffMs(this.#flushFailures, this.#options.maxRetryDelayMs));
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = undefined;
      void this.flush();
    }, delay);
  }

  #deliver(message: Invalidation): void {
    for (const listener of this.#listeners) {
      try {
        listener(message);
      } catch (error) {
        this.#options.onError(asError(error));
      }
    }
  }

  #report(message: string): void {
    this.#options.onError(new InvalidationChannelError(message));
  }
}

// ---------------------------------------------------------------------------------------
// A connection kept alive: opened, probed, replaced when it fails, with capped backoff.
// ---------------------------------------------------------------------------------------

export interface LinkOptions<S> {
  /** For messages: `Redis subscriber`, `PostgreSQL listener`. */
  name: string;
  /** Connects and sets up (subscribe, LISTEN); rejects (bounded in time) and cleans up on failure. */
  open(): Promise<S>;
  /** Closes a session at once (it failed, was replaced, or the link stops). */
  destroy(session: S): void;
  /** Whether a just-opened session is still usable (it may have failed while opening). */
  alive?(session: S): boolean;
  /** A round trip on an idle session; failing or hanging it marks the session lost. */
  probe?(session: S): Promise<unknown>;
  probeIntervalMs: number;
  probeTimeoutMs: number;
  maxDelayMs: number;
  onUp(session: S): void;
  /** The session was lost; it last carried everything `silentForMs` ago (opened, or a heartbeat answered). */
  onDown?(silentForMs: number, error: Error): void;
  onError(error: Error): void;
}

/** A session that stayed up this long counts as a success: the next loss retries at once. */
const STABLE_MS = 2000;

export class Link<S> {
  readonly #options: LinkOptions<S>;
  #session: S | null = null;
  #upAt = 0;
  /** When the session last was known to carry everything: opened, or a heartbeat sent then answered. */
  #aliveAt = 0;
  #failures = 0;
  #timer: NodeJS.Timeout | undefined;
  #probeTimer: NodeJS.Timeout | undefined;
  #probing = false;
  #opening = false;
  #stopped = false;
  #lastError: Error | null = null;
  #waiters = new Set<() => void>();

  constructor(options: LinkOptions<S>) {
    this.#options = options;
  }

  get session(): S | null {
    return this.#session;
  }

  get up(): boolean {
    return this.#session !== null;
  }

  get lastError(): Error | null {
    return this.#lastError;
  }

  start(): void {
    if (!this.#opening && !this.#session && this.#timer === undefined) void this.#attempt();
  }

  /** Resolves once up; rejects after `timeoutMs`, or when stopped. */
  async whenUp(timeoutMs: number): Promise<void> {
    if (this.#session) return;
    if (this.#stopped) throw new InvalidationChannelError(`${this.#options.name}: closed`);
    let done: () => void = () => {};
    const up = new Promise<void>((resolve) => {
      done = resolve;
      this.#waiters.add(resolve);
    });
    try {
      await withDeadline(up, timeoutMs, '');
    } catch {
      const reason = this.#lastError ? `: ${this.#lastError.message}` : '';
      throw new InvalidationChannelError(
        `${this.#options.name}: not connected within ${timeoutMs} ms${reason}`,
        { cause: this.#lastError ?? undefined },
      );
    } finally {
      this.#waiters.delete(done);
    }
    if (!this.#session) throw new InvalidationChannelError(`${this.#options.name}: closed`);
  }

  /** The session failed (an error event, a dropped socket, a probe with no answer). Idempotent. */
  lost(session: S, error: Error): void {
    if (this.#stopped || session !== this.#session) return;
    this.#session = null;
    this.#lastError = error;
    this.#stopProbe();
    this.#options.destroy(session);
    const lostError = new InvalidationChannelError(
      `${this.#options.name} lost: ${error.message}; reconnecting`,
      { cause: error },
    );
    this.#options.onError(lostError);
    try {
      this.#options.onDown?.(Math.max(0, performance.now() - this.#aliveAt), lostError);
    } catch (failure) {
      this.#options.onError(asError(failure));
    }
    if (performance.now() - this.#upAt >= STABLE_MS) this.#failures = 0;
    this.#retry();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#stopProbe();
    const session = this.#session;
    this.#session = null;
    if (session) this.#options.destroy(session);
    for (const wake of this.#waiters) wake();
  }

  async #attempt(): Promise<void> {
    this.#timer = undefined;
    if (this.#stopped) return;
    this.#opening = true;
    let session: S;
    try {
      session = await this.#options.open();
    } catch (error) {
      this.#opening = false;
      this.#lastError = asError(error);
      if (this.#stopped) return;
      this.#options.onError(
        new InvalidationChannelError(
          `${this.#options.name}: connecting failed: ${this.#lastError.message}`,
          { cause: error },
        ),
      );
      this.#retry();
      return;
    }
    this.#opening = false;
    if (this.#stopped || !(this.#options.alive?.(session) ?? true)) {
      this.#options.destroy(session);
      if (!this.#stopped) this.#retry();
      return;
    }
    this.#session = session;
    this.#upAt = performance.now();
    this.#aliveAt = this.#upAt;
    this.#lastError = null;
    this.#startProbe(session);
    for (const wake of this.#waiters) wake();
    try {
      this.#options.onUp(session);
    } catch (error) {
      this.#options.onError(asError(error));
    }
  }

  #retry(): void {
    if (this.#stopped || this.#timer !== undefined) return;
    const delay = backoffMs(this.#failures, this.#options.maxDelayMs);
    this.#failures++;
    this.#timer = setTimeout(() => void this.#attempt(), delay);
  }

  #startProbe(session: S): void {
    const probe = this.#options.probe;
    if (!probe) return;
    this.#probeTimer = setInterval(() => {
      if (this.#probing || session !== this.#session) return;
      this.#probing = true;
      const sentAt = performance.now();
      withDeadline(
        Promise.resolve().then(() => probe(session)),
        this.#options.probeTimeoutMs,
        `no answer to a heartbeat within ${this.#options.probeTimeoutMs} ms`,
      )
        // The answer came after everything sent before the heartbeat (one ordered connection).
        .then(() => {
          if (session === this.#session) this.#aliveAt = Math.max(this.#aliveAt, sentAt);
        })
        .catch((error: unknown) => this.lost(session, asError(error)))
        .finally(() => {
          this.#probing = false;
        });
    }, this.#options.probeIntervalMs);
  }

  #stopProbe(): void {
    clearInterval(this.#probeTimer);
    this.#probeTimer = undefined;
    this.#probing = false;
  }
}

/**
 * What every cluster channel takes. Defaults differ per backend (Redis: 1000 ms deadlines,
 * PostgreSQL: 2000 ms); the heartbeat is PING on Redis and `select 1` on PostgreSQL.
 */
export interface ChannelLinkOptions {
  /** Connection errors, failed publishes and malformed messages. Default: ignored. */
  onError?: (error: Error) => void;
  /** Deadline of connecting (TCP, handshake) and of subscribing. */
  connectTimeoutMs?: number;
  /** Deadline of one publish. */
  commandTimeoutMs?: number;
  /** Reconnect backoff: at once, then 50 ms doubling up to this (with jitter). Default 2000. */
  maxReconnectDelayMs?: number;
  /** A heartbeat on the subscribed connection this often. Default 1000. */
  heartbeatIntervalMs?: number;
  /** A heartbeat not answered within this drops the connection. Default 1000. */
  heartbeatTimeoutMs?: number;
  /** An unsent publish is re-sent for this long, then dropped. Default 30000 (the cache max age). */
  retryForMs?: number;
  /** At most this many unsent publishes are kept. Default 10000. */
  maxPending?: number;
  /** This node's id in messages (to skip its own echo). Default: a random UUID. */
  nodeId?: string;
}
