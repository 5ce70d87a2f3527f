import { createClient, type RedisClientOptions } from 'redis';
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
 * Invalidations over Redis pub/sub, on the channel `<prefix>invalidate` (`kw:invalidate` by
 * default). Two connections per node: one publishes, one is subscribed (a subscribed Redis
 * connection can run nothing else).
 *
 * - Own messages: `publish` delivers to this node's listeners at once, then publishes; the
 *   echo that comes back through Redis carries this node's id and is skipped. So a publish
 *   takes effect locally exactly once, even while Redis is down.
 * - Lossy link: pub/sub drops what is published while a subscriber is disconnected. Every
 *   time the subscription (re)starts, the `onResync` listeners run (the node clears its
 *   caches). A heartbeat (PING on the subscribed connection) finds links that are open but
 *   dead; a closed connection is noticed at once.
 * - A publish Redis does not take (down, timed out) is queued and re-sent, in order, when the
 *   publisher reconnects, for up to `retryForMs`, so nodes that did not lose their own link
 *   still hear it.
 *
 * node-redis is used as in limiter/redis.ts, with two differences: the clients never
 * reconnect by themselves (`reconnectStrategy: false`); a `Link` replaces a failed client with
 * a new one after a capped backoff, which covers a dropped socket, a handshake with no answer
 * and a heartbeat with no answer alike, and re-subscribes before the link counts as up.
 */
export interface RedisInvalidationChannelOptions extends ChannelLinkOptions {
  /** Default `redis://127.0.0.1:6379`. */
  url?: string;
  /** Extra node-redis options (password, TLS, database…); the failure settings below win. */
  clientOptions?: RedisClientOptions;
  /**
   * The channel is `<prefix>invalidate`. Default `kw:` (the limiter's default prefix), so
   * `kw:invalidate`. Pub/sub channels are global to a Redis server (not per database): every
   * node of one deployment uses the same prefix, and deployments sharing a server differ.
   */
  prefix?: string;
}

type Client = ReturnType<typeof createClient>;

interface Session {
  client: Client;
  /** Redis' CLIENT ID of the connection (for operators and tests: `CLIENT KILL ID`). */
  id: number;
  dead: boolean;
}

export class RedisInvalidationChannel implements InvalidationChannel {
  /** The Redis channel name. */
  readonly channel: string;
  readonly #core: ChannelCore;
  readonly #publisher: Link<Session>;
  readonly #subscriber: Link<Session>;
  readonly #clientOptions: RedisClientOptions;
  readonly #connectTimeoutMs: number;
  readonly #commandTimeoutMs: number;
  readonly #onError: (error: Error) => void;
  #closing: Promise<void> | undefined;

  constructor(options: RedisInvalidationChannelOptions = {}) {
    this.channel = `${options.prefix ?? 'kw:'}invalidate`;
    this.#onError = options.onError ?? (() => {});
    this.#connectTimeoutMs = positiveInteger('connectTimeoutMs', options.connectTimeoutMs ?? 1000);
    this.#commandTimeoutMs = positiveInteger('commandTimeoutMs', options.commandTimeoutMs ?? 1000);
    const maxDelayMs = positiveInteger('maxReconnectDelayMs', options.maxReconnectDelayMs ?? 2000);
    const probeIntervalMs = positiveInteger(
      'heartbeatIntervalMs',
      options.heartbeatIntervalMs ?? 1000,
    );
    const probeTimeoutMs = positiveInteger(
      'heartbeatTimeoutMs',
      options.heartbeatTimeoutMs ?? 1000,
    );
    const extra = options.clientOptions ?? {};
    this.#clientOptions = {
      ...extra,
      url: options.url ?? extra.url ?? 'redis://127.0.0.1:6379',
      // Never queue while disconnected: a publish fails at once and goes to the outbox.
      disableOfflineQueue: true,
      // As in the limiter: a handshake that needs an answer (CLIENT SETNAME), and no CLIENT
      // SETINFO, whose failure node-redis 5.9 ignores (a drop during it left a client "ready"
      // on a dead socket).
      disableClientInfo: true,
      socket: {
        ...extra.socket,
        connectTimeout: this.#connectTimeoutMs,
        // Reconnecting is the Link's job: a failed client is replaced, never revived.
        reconnectStrategy: false,
      },
    } as RedisClientOptions;

    this.#core = new ChannelCore({
      nodeId: options.nodeId,
      onError: this.#onError,
      send: (payload) => this.#send(payload),
      retryForMs: positiveInteger('retryForMs', options.retryForMs ?? 30_000),
      maxPending: positiveInteger('maxPending', options.maxPending ?? 10_000),
      maxRetryDelayMs: maxDelayMs,
    });
    const common = {
      destroy: (session: Session) => destroyClient(session.client),
      alive: (session: Session) => !session.dead && session.client.isReady,
      probeIntervalMs,
      probeTimeoutMs,
      maxDelayMs,
      onError: this.#onError,
    };
    this.#publisher = new Link<Session>({
      ...common,
      name: 'Redis invalidation publisher',
      open: () => this.#open('pub', () => this.#publisher),
      onUp: () => void this.#core.flush(),
    });
    this.#subscriber = new Link<Session>({
      ...common,
      name: 'Redis invalidation subscriber',
      open: () =>
        this.#open(
          'sub',
          () => this.#subscriber,
          async (client) => {
            await client.subscribe(this.channel, (payload) => this.#core.receive(payload));
          },
        ),
      probe: (session) => session.client.ping(),
      // Subscribed again: whatever was published meanwhile is lost, so forget everything.
      onUp: () => this.#core.resync(),
      onDown: (silentForMs, error) => this.#core.lost(silentForMs, error),
    });
    this.#publisher.start();
    this.#subscriber.start();
  }

  /** Creates a channel and waits until it is connected and subscribed (rejects after `timeoutMs`). */
  static async connect(
    options: RedisInvalidationChannelOptions = {},
    timeoutMs = 3000,
  ): Promise<RedisInvalidationChannel> {
    const channel = new RedisInvalidationChannel(options);
    try {
      await channel.ready(timeoutMs);
      return channel;
    } catch (error) {
      await channel.close();
      throw error;
    }
  }

  /** Waits until both connections are up and the subscription is active. */
  async ready(timeoutMs = 3000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    await this.#subscriber.whenUp(timeoutMs);
    await this.#publisher.whenUp(Math.max(1, deadline - performance.now()));
  }

  /** This node's id, carried in every message it publishes. */
  get nodeId(): string {
    return this.#core.nodeId;
  }

  /** Subscribed: this node hears the others' invalidations now. */
  get healthy(): boolean {
    return !this.#core.closed && this.#subscriber.up;
  }

  /** Publishes queued because Redis did not take them, waiting to be re-sent. */
  get pendingPublishes(): number {
    return this.#core.pending;
  }

  /** Redis' CLIENT IDs of the current connections (null while down). */
  get clientIds(): { publisher: number | null; subscriber: number | null } {
    return {
      publisher: this.#publisher.session?.id ?? null,
      subscriber: this.#subscriber.session?.id ?? null,
    };
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

  /**
   * Sends what is queued (if connected), then drops both connections: nothing else is in
   * flight that matters (a publish still running is local already). Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#core.close(this.#publisher.up);
      this.#publisher.stop();
      this.#subscriber.stop();
    })();
    return this.#closing;
  }

  async #send(payload: string): Promise<void> {
    const session = this.#publisher.session;
    if (!session) throw new InvalidationChannelError('the Redis publisher is not connected');
    try {
      await withDeadline(
        session.client.publish(this.channel, payload),
        this.#commandTimeoutMs,
        `Redis did not answer PUBLISH within ${this.#commandTimeoutMs} ms`,
      );
    } catch (error) {
      // No answer on a connection that says it is open: presumed dead (half-open), replaced.
      if (error instanceof InvalidationChannelError) this.#publisher.lost(session, error);
      throw error;
    }
  }

  async #open(
    role: 'pub' | 'sub',
    link: () => Link<Session>,
    setup?: (client: Client) => Promise<void>,
  ): Promise<Session> {
    const client = createClient({
      ...this.#clientOptions,
      name: this.#clientOptions.name ?? `keywarden-invalidate-${role}`,
    }) as Client;
    const session: Session = { client, id: 0, dead: false };
    // node-redis emits 'error' on a socket failure (a killed or dropped connection among them);
    // unhandled it would crash the process. The session is then over: the Link replaces it.
    client.on('error', (error: Error) => {
      session.dead = true;
      link().lost(session, error);
    });
    try {
      const deadline = this.#connectTimeoutMs;
      await withDeadline(
        client.connect(),
        deadline,
        `no connection to Redis within ${deadline} ms`,
      );
      // CLIENT ID before SUBSCRIBE: a subscribed connection answers only pub/sub commands.
      session.id = await withDeadline(client.clientId(), deadline, 'no answer to CLIENT ID');
      if (setup) await withDeadline(setup(client), deadline, 'no answer to SUBSCRIBE');
    } catch (error) {
      session.dead = true;
      destroyClient(client);
      throw error;
    }
    return session;
  }
}

function destroyClient(client: Client): void {
  if (client.isOpen) client.destroy();
}
