import { createHmac, randomBytes } from 'node:crypto';
import { serveBare } from './lifecycle.ts';

/**
 * The least any forward-auth that keeps keys only as a keyed hash must do per request: read
 * the presented key, compute its HMAC-SHA256 under a pepper (with its hex digest, as
 * keywarden's hasher does), and answer 200 with the headers keywarden's answer carries (key,
 * project and environment for the edge, request id, `cache-control`, `content-length`). No
 * lookup, no decision, no metering. Not a target: it shows how much of the bare handler's
 * throughput a correct answer leaves on this machine, and keywarden is also compared with it.
 */
const pepper = randomBytes(32);
serveBare((request, response) => {
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
