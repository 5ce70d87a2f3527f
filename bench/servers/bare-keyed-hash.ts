import { createHmac, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { announceReady, exitWith } from './lifecycle.ts';

/**
 * The least any forward-auth that keeps keys only as a keyed hash must do per request: read
 * the presented key, compute its HMAC-SHA256 under a pepper (with its hex digest, as
 * keywarden's hasher does), and answer 200 with the headers keywarden's answer carries (key,
 * project and environment for the edge, request id, `cache-control`, `content-length`). No
 * lookup, no decision, no metering. Not a target: it shows how much of the bare handler's
 * throughput a correct answer leaves on this machine, and keywarden is also compared with it.
 */
const pepper = randomBytes(32);
const server = createServer((request, response) => {
  const presented = request.headers['x-api-key'];
  const hash = createHmac('sha256', pepper)
    .update(typeof presented === 'string' ? presented : '')
    .digest('hex');
  // Derived from the hash, so that it cannot be skipped; the same lengths as keywarden's ids.
  response.writeHead(200, {
    'x-keywarden-key-id': `key_${hash.slice(0, 26)}`,
    'x-keywarden-project-id': `prj_${hash.slice(26, 52)}`,
    'x-keywarden-env': 'prod',
    'x-request-id': `req_${hash.slice(52, 64)}`,
    'cache-control': 'no-store',
    'content-length': '0',
  });
  response.end();
});
// Fastify's default keep-alive timeout, as for the other servers.
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
