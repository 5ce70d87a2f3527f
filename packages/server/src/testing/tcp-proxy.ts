import { connect, createServer, type Socket } from 'node:net';

/**
 * A TCP proxy in front of a real server (PostgreSQL, Redis) that a test can cut, refuse or
 * silence, to play a network that fails the ways real ones do. The one proxy for every fault
 * test in the repository.
 */
export interface TcpProxy {
  port: number;
  /** Connections accepted so far (each reconnect attempt is one). */
  readonly accepted: number;
  /** Drops every connection and refuses (accepts and closes) new ones: the server is down. */
  refuse(): void;
  /** Forwards again, on open and new connections. */
  accept(): void;
  /** The connections open now stay open and carry nothing more, for good: a half-open link. */
  freeze(): void;
  /** Every connection, open or new, stays open and carries nothing until `accept()`: dropped packets. */
  blackhole(): void;
  /**
   * The server's replies arrive `ms` later (0: at once again): a slow store. Requests pass at
   * once, so a query runs on the server now and its answer comes late.
   */
  delayReplies(ms: number): void;
  close(): Promise<void>;
}

const DEFAULT_PORTS: Record<string, number> = {
  'redis:': 6379,
  'postgres:': 5432,
  'postgresql:': 5432,
};

export async function startTcpProxy(target: URL): Promise<TcpProxy> {
  const host = target.hostname || '127.0.0.1';
  const port = Number(target.port || DEFAULT_PORTS[target.protocol] || 0);
  const links = new Set<{ client: Socket; upstream: Socket; frozen: boolean }>();
  let refusing = false;
  let blackholing = false;
  let replyDelayMs = 0;
  let accepted = 0;
  const server = createServer((client) => {
    accepted++;
    client.on('error', () => {});
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = connect(port, host);
    upstream.on('error', () => {});
    const link = { client, upstream, frozen: false };
    links.add(link);
    const passes = () => !link.frozen && !blackholing;
    client.on('data', (data) => void (passes() && upstream.write(data)));
    upstream.on('data', (data) => {
      if (!passes()) return;
      // Timers of one delay fire in the order they were set: replies keep their order.
      if (replyDelayMs > 0) setTimeout(() => client.write(data), replyDelayMs);
      else client.write(data);
    });
    client.on('close', () => {
      upstream.destroy();
      links.delete(link);
    });
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('proxy: no address');
  return {
    port: address.port,
    get accepted() {
      return accepted;
    },
    refuse() {
      refusing = true;
      for (const link of links) link.client.destroy();
    },
    accept() {
      refusing = false;
      blackholing = false;
    },
    freeze() {
      for (const link of links) link.frozen = true;
    },
    blackhole() {
      blackholing = true;
    },
    delayReplies(ms) {
      replyDelayMs = ms;
    },
    async close() {
      for (const link of links) link.client.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
