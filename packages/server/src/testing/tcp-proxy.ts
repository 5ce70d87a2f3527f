import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';

/**
 * A TCP proxy in front of a service (PostgreSQL, Redis) that can pass traffic, swallow it (a network that drops
 * packets: connections stay open and nothing answers) or be down (every connection cut).
 */
export function startTcpProxy(target: URL): Promise<{
  port: number;
  mode: 'pass' | 'blackhole' | 'down';
  close(): Promise<void>;
}> {
  const sockets = new Set<Socket>();
  const state = { mode: 'pass' as 'pass' | 'blackhole' | 'down' };
  const server: Server = createServer((client) => {
    client.on('error', () => {});
    if (state.mode === 'down') {
      client.destroy();
      return;
    }
    const upstream = tcpConnect(
      Number(target.port || (target.protocol === 'redis:' ? 6379 : 5432)),
      target.hostname || '127.0.0.1',
    );
    upstream.on('error', () => {});
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    }
    client.on('data', (chunk) => state.mode === 'pass' && upstream.write(chunk));
    upstream.on('data', (chunk) => state.mode === 'pass' && client.write(chunk));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      resolve({
        port,
        get mode() {
          return state.mode;
        },
        set mode(mode) {
          state.mode = mode;
          if (mode === 'down') for (const s of sockets) s.destroy();
        },
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
