import pg from 'pg';
import {
  ChannelCore,
  type ChannelLinkOptions,
  type Invalidation,
  type InvalidationChannel,
  InvalidationChannelError,
  Link,
  positiveInteger,
  withDeadline,
} from './index.ts';

/**
 * Invalidations over PostgreSQL LISTEN/NOTIFY, for deployments without Redis. One dedicated
 * `pg.Client` (never pooled: a pooled connection would be handed to someone else) LISTENs;
 * publishes run `select pg_notify($1, $2)` on a small pool of this channel's own (two
 * connections at most, closed when idle).
 *
 * The same rules as the Redis channel (see redis.ts and README.md): local delivery at once and
 * the echo skipped by node id; a resync each time the LISTEN (re)starts; a heartbeat
 * (`select 1` on the listening connection) to find a dead link; unsent publishes queued and
 * re-sent. NOTIFY is per database: every node must use the same database and channel name.
 * Payloads must be shorter than 8000 bytes; messages are about 100 (checked before sending).
 */
export interface PostgresInvalidationChannelOptions extends ChannelLinkOptions {
  /** A `postgres://` URL (the store's database). */
  url: string;
  /** The NOTIFY channel: 1–63 bytes, case-sensitive. Default `kw_invalidate`. */
  channel?: string;
  /** `application_name` of the connections (shown in pg_stat_activity). */
  applicationName?: string;
}

interface Session {
  client: pg.Client;
  /** The listening backend's pid (for operators and tests: `pg_terminate_backend`). */
  pid: number;
  dead: boolean;
}

const MAX_IDENTIFIER_BYTES = 63;

/** Where a URL points, without its password: for messages. */
function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.username ? `${u.username}@` : ''}${u.host || 'localhost'}${u.pathname}`;
  } catch {
    return '(an invalid URL)';
  }
}

export class PostgresInvalidationChannel implements InvalidationChannel {
  /** The NOTIFY channel name. */
  readonly channel: string;
  readonly #core: ChannelCore;
  readonly #listener: Link<Session>;
  readonly #pool: pg.Pool;
  readonly #url: string;
  readonly #applicationName: string;
  readonly #connectTimeoutMs: number;
  readonly #commandTimeoutMs: number;
  #closing: Promise<void> | undefined;

  constructor(options: PostgresInvalidationChannelOptions) {
    const channel = options.channel ?? 'kw_invalidate';
    const bytes = Buffer.byteLength(channel);
    if (bytes < 1 || bytes > MAX_IDENTIFIER_BYTES || channel.includes('\0')) {
      throw new RangeError(`the NOTIFY channel must be 1–${MAX_IDENTIFIER_BYTES} bytes`);
    }
    this.channel = channel;
    this.#url = options.url;
    const where = describeUrl(options.url);
    const onError = options.onError ?? (() => {});
    this.#applicationName = options.applicationName ?? 'keywarden-invalidate';
    this.#connectTimeoutMs = positiveInteger('connectTimeoutMs', options.connectTimeoutMs ?? 2000);
    this.#commandTimeoutMs = positiveInteger('commandTimeoutMs', options.commandTimeoutMs ?? 2000);
    const maxDelayMs = positiveInteger('maxReconnectDelayMs', options.maxReconnectDelayMs ?? 2000);

    this.#pool = new pg.Pool({
      connectionString: options.url,
      max: 2,
      connectionTimeoutMillis: this.#connectTimeoutMs,
      idleTimeoutMillis: 30_000,
      keepAlive: true,
      application_name: this.#applicationName,
    });
    // An idle pooled connection that fails is dropped by the pool and reported here;
    // unhandled, the 'error' event would end the process.
    this.#pool.on('error', (error) => onError(error));
    this.#pool.on('connect', (client) => client.on('error', () => {}));

    this.#core = new ChannelCore({
      nodeId: options.nodeId,
      onError,
      send: (payload) => this.#send(payload),
      retryForMs: positiveInteger('retryForMs', options.retryForMs ?? 30_000),
      maxPending: positiveInteger('maxPending', options.maxPending ?? 10_000),
      maxRetryDelayMs: maxDelayMs,
    });
    this.#listener = new Link<Session>({
      name: `PostgreSQL invalidation listener (${where})`,
      open: () => this.#open(),
      destroy: (session) => destroyClient(session.client),
      alive: (session) => !session.dead,
      probe: (session) => session.client.query('select 1'),
      probeIntervalMs: positiveInteger('heartbeatIntervalMs', options.heartbeatIntervalMs ?? 1000),
      probeTimeoutMs: positiveInteger('heartbeatTimeoutMs', options.heartbeatTimeoutMs ?? 1000),
      maxDelayMs,
      // Listening again: whatever was notified meanwhile is lost, so forget everything; and
      // the database answers again, so send what is queued.
      onUp: () => {
        this.#core.resync();
        void this.#core.flush();
      },
      onDown: (silentForMs, error) => this.#core.lost(silentForMs, error),
      onError,
    });
    this.#listener.start();
  }

  /** Creates a channel and waits until it LISTENs (rejects after `timeoutMs`). */
  static async connect(
    options: PostgresInvalidationChannelOptions,
    timeoutMs = 3000,
  ): Promise<PostgresInvalidationChannel> {
    const channel = new PostgresInvalidationChannel(options);
    try {
      await channel.ready(timeoutMs);
      return channel;
    } catch (error) {
      await channel.close();
      throw error;
    }
  }

  async ready(timeoutMs = 3000): Promise<void> {
    await this.#listener.whenUp(timeoutMs);
  }

  /** This node's id, carried in every message it publishes. */
  get nodeId(): string {
    return this.#core.nodeId;
  }

  /** Listening: this node hears the others' invalidations now. */
  get healthy(): boolean {
    return !this.#core.closed && this.#listener.up;
  }

  /** Publishes queued because PostgreSQL did not take them, waiting to be re-sent. */
  get pendingPublishes(): number {
    return this.#core.pending;
  }

  /** The listening connection's backend pid (null while down). */
  get listenerPid(): number | null {
    return this.#listener.session?.pid ?? null;
  }

  publish(message: Invalidation): Promise<void> {
    return this.#core.publish(message);
  }

  subscribe(listener: (message: Invalidation) => void): void {
    this.#core.subscribe(listener);
  }

  onResync(listener: () => void): void {
    this.#core.onResync(listener);
  }

  onLost(listener: (silentForMs: number, error: Error) => void): void {
    this.#core.onLost(listener);
  }

  /** Sends what is queued (if the database answers), then closes everything. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#core.close(this.#listener.up);
      const session = this.#listener.session;
      if (session) session.dead = true;
      this.#listener.stop();
      if (!this.#pool.ending) await this.#pool.end().catch(() => {});
    })();
    return this.#closing;
  }

  async #send(payload: string): Promise<void> {
    const client = await this.#pool.connect();
    let broken: Error | undefined;
    try {
      await withDeadline(
        client.query('select pg_notify($1, $2)', [this.channel, payload]),
        this.#commandTimeoutMs,
        `PostgreSQL did not answer pg_notify within ${this.#commandTimeoutMs} ms`,
      );
    } catch (error) {
      // Dropped from the pool, not reused: a connection that did not answer may never.
      broken = error instanceof Error ? error : new Error(String(error));
      throw error;
    } finally {
      client.release(broken);
    }
  }

  async #open(): Promise<Session> {
    const client = new pg.Client({
      connectionString: this.#url,
      connectionTimeoutMillis: this.#connectTimeoutMs,
      keepAlive: true,
      application_name: this.#applicationName,
    });
    const session: Session = { client, pid: 0, dead: false };
    const lost = (error: Error) => {
      session.dead = true;
      this.#listener.lost(session, error);
    };
    // A terminated backend, a restart, a network loss: 'error' (unhandled, it would end the
    // process), then 'end'. Either ends the session; the Link opens a new one.
    client.on('error', lost);
    client.on('end', () => lost(new InvalidationChannelError('the connection ended')));
    client.on('notification', (notification) => {
      if (notification.channel === this.channel) this.#core.receive(notification.payload);
    });
    try {
      const ms = this.#connectTimeoutMs;
      await withDeadline(client.connect(), ms, `no connection to PostgreSQL within ${ms} ms`);
      const result = await withDeadline(
        client.query<{ pid: number }>(
          `listen ${pg.escapeIdentifier(this.channel)}; select pg_backend_pid() as pid`,
        ),
        ms,
        `PostgreSQL did not answer LISTEN within ${ms} ms`,
      );
      // A multi-statement query answers one result per statement.
      const results = result as unknown as Array<pg.QueryResult<{ pid: number }>>;
      session.pid = results[results.length - 1]?.rows[0]?.pid ?? 0;
    } catch (error) {
      session.dead = true;
      destroyClient(client);
      throw error;
    }
    return session;
  }
}

/** Closes a client now: its socket is destroyed (an end() on a dead link could wait forever). */
function destroyClient(client: pg.Client): void {
  const internals = client as unknown as { connection?: { stream?: { destroy?: () => void } } };
  internals.connection?.stream?.destroy?.();
  client.end().catch(() => {});
}
