import { redactSecrets } from '@keywarden/core';
import { newRequestId } from '../ids/index.ts';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * A request's id: the caller's `x-request-id` when it is a short, safe token (so that a trace
 * can follow a request across services), otherwise a new one. For Fastify's `genReqId` and
 * for the routes served directly (`direct-dispatch.ts`).
 */
export function requestIdFor(incoming: string | string[] | undefined): string {
  // A request id is echoed in every answer and kept in logs and audit entries: one that holds
  // a key (a pasted header, a probe) is replaced, never stored.
  return typeof incoming === 'string' &&
    REQUEST_ID.test(incoming) &&
    redactSecrets(incoming) === incoming
    ? incoming
    : newRequestId();
}
