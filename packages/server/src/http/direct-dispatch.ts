import type { IncomingMessage, ServerResponse } from 'node:http';
import proxyAddr from '@fastify/proxy-addr';
import type { FastifyInstance } from 'fastify';

/**
 * A route served straight from Node's `request` event, without Fastify's per-request work
 * (request and reply objects, routing, hooks, serialisation): forward-auth, which an edge
 * proxy calls on every request it lets through. The handler writes the whole answer itself
 * (`direct-reply.ts`) and must never throw.
 *
 * The same handler stays registered as a Fastify route and runs there (`reply.hijack()`) for
 * whatever the dispatch leaves to Fastify: `inject()` in tests, which never goes through the
 * server, and the URLs Fastify must decode or refuse first. One function answers both ways.
 */
export type DirectHandler = (req: IncomingMessage, res: ServerResponse, requestId?: string) => void;

/**
 * Takes over the Fastify server's `request` event: the URLs `matches` accepts go to `handler`,
 * everything else to Fastify as before. Requests go to Fastify also once the app is closing
 * (its 503 while it drains) and for methods it does not route. Call before `app.ready()`.
 * Returns false, changing nothing, when the server is not the one Fastify made.
 */
export function serveDirectly(
  app: FastifyInstance,
  matches: (url: string) => boolean,
  handler: DirectHandler,
): boolean {
  const server = app.server;
  const listeners = server.listeners('request');
  if (listeners.length !== 1) return false;
  const fastify = listeners[0] as (req: IncomingMessage, res: ServerResponse) => void;
  const methods = new Set(app.supportedMethods);
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  server.removeListener('request', fastify);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (!closing && matches(req.url ?? '') && methods.has(req.method ?? '')) handler(req, res);
    else fastify(req, res);
  });
  return true;
}

/**
 * The client's address as Fastify's `request.ip` gives it for the same trusted proxies: the
 * same library (@fastify/proxy-addr) compiled from the same list, so `X-Forwarded-For` counts
 * only from a trusted peer, exactly as on every other route.
 */
export function clientAddress(
  trustedProxies: readonly string[],
): (req: IncomingMessage) => string | undefined {
  // A request whose socket is already detached has no address (proxy-addr would throw).
  if (trustedProxies.length === 0) return (req) => req.socket?.remoteAddress;
  const trust = proxyAddr.compile([...trustedProxies]);
  return (req) => {
    if (!req.socket) return undefined;
    const addresses = proxyAddr.all(req, trust);
    return addresses[addresses.length - 1];
  };
}
