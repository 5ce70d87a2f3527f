import { newRequestId } from '../ids/index.ts';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * A request's id: the caller's `x-request-id` when it is a short, safe token (so that a trace
 * can follow a request across services), otherwise a new one. For Fastify's `genReqId` and
 * for the routes served directly (`direct-dispatch.ts`).
 */
export function requestIdFor(incoming: string | string[] | undefined): string {
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : newRequestId();
}
