import type { Server } from 'node:http';
import type { Logger } from '../log/index.ts';

/**
 * Stops an HTTP server within a deadline. Node's `server.close()` stops listening and closes
 * idle keep-alive connections, then waits for every other connection to end; a connection
 * that sent half a request (or a request whose answer it never reads) ends only when Node's
 * own timeouts fire: `headersTimeout` (60 s, checked every 30 s), `requestTimeout` (300 s).
 * One such client kept a node alive for minutes after SIGTERM. So requests in flight get
 * `deadlineMs` to finish, then every connection still open is closed.
 *
 * `close` is the owner's close (Fastify's `app.close()`: its onClose hooks, then the server's
 * close); it resolves once the last connection is gone, which the deadline guarantees.
 * Resolves with the number of connections cut at the deadline (0: all ended in time).
 */
export async function drainHttpServer(
  server: Server,
  close: () => Promise<void>,
  deadlineMs: number,
  logger?: Logger,
): Promise<number> {
  let cut = 0;
  const timer = setTimeout(() => {
    server.getConnections((error, count) => {
      cut = error ? 0 : count;
      logger?.warn(
        { connections: cut, deadlineMs },
        'shutdown deadline reached: closing the connections still open',
      );
      server.closeAllConnections();
    });
  }, deadlineMs);
  try {
    const closing = close();
    // Idle keep-alive connections hold nothing: close them now, not at the deadline.
    server.closeIdleConnections();
    await closing;
  } finally {
    clearTimeout(timer);
  }
  return cut;
}
