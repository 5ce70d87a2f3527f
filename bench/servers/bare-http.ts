import { createServer } from 'node:http';
import { announceReady, exitWith } from './lifecycle.ts';

/**
 * The HTTP floor: a node:http handler that answers 200 with an empty body and does nothing
 * else. Whatever keywarden's /v1/auth costs above this is Fastify plus verification. It runs
 * in its own process, started exactly like the keywarden server (node --import tsx), so both
 * pay the same loader and get the same CPU.
 */
const server = createServer((_request, response) => {
  response.statusCode = 200;
  response.end();
});
// Fastify's default keep-alive timeout, so neither side drops connections differently.
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
