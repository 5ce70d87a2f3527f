import type { ServerResponse } from 'node:http';
import { redactSecrets } from '@keywarden/core';
import { ERROR_CATALOGUE, type ErrorCode, type FieldError, problemType } from '../errors/index.ts';

/**
 * Answers written straight to Node's response, for the routes served without Fastify's
 * per-request machinery (`direct-dispatch.ts`). They are byte for byte what Fastify sends for
 * the same answer: the handler's headers, then what the app's onSend hook adds to every answer
 * (`x-request-id`, `cache-control: no-store` under `/v1/`), then `content-length` (none on a
 * HEAD without a body); problem+json bodies as `sendProblem` (problem.ts) builds them.
 * Header names are lower case, as Fastify writes them.
 */
export type DirectHeaders = Record<string, string>;

/** An answer without a body (forward-auth's 200). */
export function writeEmpty(
  res: ServerResponse,
  method: string | undefined,
  status: number,
  requestId: string,
  headers: DirectHeaders,
): void {
  headers['x-request-id'] = requestId;
  headers['cache-control'] = 'no-store';
  if (method !== 'HEAD') headers['content-length'] = '0';
  res.writeHead(status, headers);
  res.end();
}

/**
 * The RFC 9457 body `sendProblem` sends, with its fields in the same order. Details and field
 * errors may quote what the caller sent (an id, a field name, a path): they pass through the
 * one redaction function, so an answer never echoes a key, whatever the route put there.
 */
export function problemJson(
  code: ErrorCode,
  requestId: string,
  detail?: string,
  fieldErrors: readonly FieldError[] = [],
): string {
  const entry = ERROR_CATALOGUE[code];
  const body: Record<string, unknown> = {
    type: problemType(code),
    title: entry.title,
    status: entry.status,
    detail: detail === undefined ? entry.title : redactSecrets(detail),
    code,
    requestId,
  };
  if (fieldErrors.length > 0)
    body.errors = fieldErrors.map((f) => ({
      field: redactSecrets(f.field),
      message: redactSecrets(f.message),
    }));
  return JSON.stringify(body);
}

export interface DirectProblem {
  code: ErrorCode;
  detail?: string;
  fieldErrors?: readonly FieldError[];
}

/** A problem+json answer; `headers` come first (rate limits, WWW-Authenticate). */
export function writeProblem(
  res: ServerResponse,
  requestId: string,
  problem: DirectProblem,
  headers: DirectHeaders = {},
): void {
  const body = problemJson(problem.code, requestId, problem.detail, problem.fieldErrors);
  headers['content-type'] = 'application/problem+json; charset=utf-8';
  headers['x-request-id'] = requestId;
  headers['cache-control'] = 'no-store';
  headers['content-length'] = String(Buffer.byteLength(body));
  res.writeHead(ERROR_CATALOGUE[problem.code].status, headers);
  res.end(body);
}
