import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ErrorCode } from '../errors/index.ts';
import { ERROR_CATALOGUE } from '../errors/index.ts';
import { newRequestId } from '../ids/index.ts';
import { problemJson } from './direct-reply.ts';

/**
 * Node's HTTP parser refuses some requests before Fastify sees them: a malformed request
 * line or header, headers over the size limit, a request that took too long to arrive.
 * Fastify's default answer to these is its own JSON; this one is problem+json like every
 * other error, and quotes nothing the client sent. The connection is closed afterwards: the
 * parser cannot tell where the next request would begin.
 */
function codeFor(error: NodeJS.ErrnoException): ErrorCode {
  if (error.code === 'HPE_HEADER_OVERFLOW') return 'HEADERS_TOO_LARGE';
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'REQUEST_TIMEOUT';
  return 'BAD_REQUEST';
}

export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  // A reset connection has nobody left to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const code = codeFor(error);
  const status = ERROR_CATALOGUE[code].status;
  const requestId = newRequestId();
  const body = problemJson(code, requestId);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
        'content-type: application/problem+json; charset=utf-8\r\n' +
        `content-length: ${Buffer.byteLength(body)}\r\n` +
        `x-request-id: ${requestId}\r\n` +
        'connection: close\r\n\r\n' +
        body,
    );
  }
  socket.destroy();
}
