import { redactSecrets } from '@keywarden/core';
import { newRequestId } from '../ids/index.ts';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * A request's id: the caller's `x-request-id` when it is a short, safe token (so that a trace
 * can follow a request across services), otherwise a new one. For Fastify's `genReqId` and
 * for the routes served directly (`direct-dispatch.ts`).
 *
 * A key fits the safe characters, and the id is logged with every line of its request and
 * echoed in the answer: one that the redaction patterns would redact (a keywarden key, even
 * with a bad checksum, or a provider secret) is never taken as the id.
 */
export function requestIdFor(incoming: string | string[] | undefined): string {
  return typeof incoming === 'string' &&
    REQUEST_ID.test(incoming) &&
    redactSecrets(incoming) === incoming
    ? incoming
    : newRequestId();
}
