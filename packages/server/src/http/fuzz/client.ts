import { request as httpRequest } from 'node:http';
import { type Body, bodyBytes } from './mutations.ts';
import { wireSafeHeader, wireSafePath } from './parts.ts';

/**
 * One fuzz request over a real loopback socket (not `inject`: forward-auth is served from the
 * socket, and request state read after the socket is gone only fails on a real one), each on a
 * fresh connection and bounded by a timeout, so a hang is reported as such.
 */
export interface FuzzRequest {
  method: string;
  /** The request target as sent (already encoded; anything outside `!`–`ÿ` is escaped). */
  path: string;
  headers: Record<string, string | undefined>;
  body: Body;
  /** Send the body chunked instead of with a Content-Length. */
  chunked?: boolean;
}

export interface FuzzResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  ms: number;
}

export class Hang extends Error {}

export function send(base: string, req: FuzzRequest, timeoutMs: number): Promise<FuzzResponse> {
  const started = performance.now();
  const payload = bodyBytes(req.body);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers))
    if (value !== undefined) headers[name] = wireSafeHeader(value);
  // Framing always explicit: Node sends a GET's or DELETE's body unframed otherwise, and the
  // server would read it as the next request.
  if (payload && req.chunked) headers['transfer-encoding'] = 'chunked';
  else if (payload) headers['content-length'] = String(payload.length);
  return new Promise((resolve, reject) => {
    const url = new URL(base);
    const outgoing = httpRequest({
      host: url.hostname,
      port: url.port,
      method: req.method,
      path: wireSafePath(req.path),
      headers,
      agent: false,
    });
    const timer = setTimeout(() => {
      outgoing.destroy(new Hang(`no complete answer within ${timeoutMs} ms`));
    }, timeoutMs);
    outgoing.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    outgoing.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          ms: performance.now() - started,
        });
      });
    });
    if (payload) outgoing.end(payload);
    else outgoing.end();
  });
}
