import { fstatSync } from 'node:fs';
import { createServer, type RequestListener } from 'node:http';

/**
 * Shared by the bench's server processes: announce readiness on stdout as one JSON line (the
 * orchestrator waits for it), and exit cleanly (call `exitWith` first, before startup) — through `process.exit`, so that `--cpu-prof`
 * writes its profile — on SIGTERM/SIGINT or when the orchestrator's stdin pipe closes (it died
 * without stopping us).
 */
export function announceReady(info: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ ready: true, ...info })}\n`);
}

export function exitWith(close: () => Promise<void> | void): void {
  let closing = false;
  const stop = () => {
    if (closing) return;
    closing = true;
    // A close that hangs (a load generator still holding connections) must not keep us alive.
    setTimeout(() => process.exit(1), 10_000).unref();
    Promise.resolve()
      .then(close)
      .catch((error: unknown) => process.stderr.write(`close failed: ${String(error)}\n`))
      .finally(() => process.exit(0));
  };
  // EPIPE on the ready line: the orchestrator is gone.
  process.stdout.on('error', stop);
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  // Only a pipe from the orchestrator (libuv makes it a socketpair) means "exit when it goes
  // away"; started by hand with stdin on /dev/null or a terminal, the server runs until signalled.
  const stdin = fstatSync(0);
  if (stdin.isFIFO() || stdin.isSocket()) process.stdin.on('end', stop).on('close', stop).resume();
}

/**
 * Serves `handler` on a bare node:http server on 127.0.0.1 (a free port), with Fastify's
 * default keep-alive timeout so that no server drops connections differently from the
 * others, closes it (connections too) on the way out, and announces its url.
 */
export function serveBare(handler: RequestListener): void {
  const server = createServer(handler);
  server.keepAliveTimeout = 72_000;
  exitWith(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    announceReady({ url: `http://127.0.0.1:${port}` });
  });
}
