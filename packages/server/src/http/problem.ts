import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import {
  ERROR_CATALOGUE,
  type ErrorCode,
  type FieldError,
  KeywardenError,
} from '../errors/index.ts';
import { isStoreUnavailable } from '../store/index.ts';
import { problemJson } from './direct-reply.ts';

/**
 * Every error leaves as RFC 9457 problem+json with a stable code from the catalogue and
 * the request id. Unexpected errors are logged in full and answered with a generic 500:
 * internals never reach the client.
 */
export function sendProblem(
  reply: FastifyReply,
  code: ErrorCode,
  detail?: string,
  fieldErrors: FieldError[] = [],
  headers: Record<string, string> = {},
): FastifyReply {
  for (const [name, value] of Object.entries(headers)) reply.header(name, value);
  return reply
    .code(ERROR_CATALOGUE[code].status)
    .type('application/problem+json; charset=utf-8')
    .send(problemJson(code, String(reply.request.id), detail, fieldErrors));
}

interface AjvError {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** Turns Ajv's errors into `{ field, message }` entries that name the offending field. */
function fieldErrorsFromValidation(error: FastifyError): FieldError[] {
  const context =
    (error as FastifyError & { validationContext?: string }).validationContext ?? 'body';
  return ((error.validation ?? []) as AjvError[]).map((v) => {
    let field = v.instancePath || '';
    if (v.keyword === 'required' && v.params?.missingProperty)
      field += `/${String(v.params.missingProperty)}`;
    if (v.keyword === 'additionalProperties' && v.params?.additionalProperty) {
      field += `/${String(v.params.additionalProperty)}`;
      return { field: `${context}${field}`, message: 'unknown field' };
    }
    return { field: `${context}${field || ''}`, message: v.message ?? 'invalid' };
  });
}

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION_FAILED',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_ASYNC_CONSTRAINT: 'VALIDATION_FAILED',
};

/** What an error that escaped a route is answered with: a catalogue code and its details. */
export interface ClassifiedError {
  code: ErrorCode;
  detail?: string;
  fieldErrors?: FieldError[];
  headers?: Record<string, string>;
}

/**
 * The one mapping from a thrown error to the catalogue, shared by the problem+json answer
 * below and the gateway's OpenAI-shaped one. Unexpected errors are logged in full here.
 */
export function classifyError(
  error: FastifyError | KeywardenError,
  request: FastifyRequest,
): ClassifiedError {
  if (error instanceof KeywardenError) {
    return {
      code: error.code,
      detail: error.detail,
      fieldErrors: error.fieldErrors,
      headers: error.headers,
    };
  }
  // Raised before routing (`frameworkErrors`). Fastify's own answer quotes the whole path,
  // a key in it included; this one names the part and quotes nothing.
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    return {
      code: 'VALIDATION_FAILED',
      detail: 'a path segment is too long',
      fieldErrors: [{ field: 'params', message: 'too long' }],
    };
  }
  if (error.code === 'FST_ERR_BAD_URL') {
    return {
      code: 'VALIDATION_FAILED',
      detail: 'the URL is not valid percent-encoding',
      fieldErrors: [{ field: 'url', message: 'not valid percent-encoding (UTF-8 bytes as %XX)' }],
    };
  }
  if (error.validation) {
    const fieldErrors = fieldErrorsFromValidation(error);
    const detail = fieldErrors.map((f) => `${f.field}: ${f.message}`).join('; ');
    return { code: 'VALIDATION_FAILED', detail, fieldErrors };
  }
  // The store is down (not a bug): 503 to retry, and no stack per request (the verifier's
  // breaker logs the outage once).
  if (isStoreUnavailable(error)) {
    request.log.debug({ err: error }, 'the store does not answer');
    return {
      code: 'SERVICE_UNAVAILABLE',
      detail: 'the store does not answer; retry shortly',
      headers: { 'retry-after': '1' },
    };
  }
  const mapped = error.code ? FASTIFY_CODES[error.code] : undefined;
  if (mapped) return { code: mapped };
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    request.log.info({ err: error }, 'client error');
    return { code: 'VALIDATION_FAILED', detail: 'the request could not be processed' };
  }
  request.log.error({ err: error }, 'unhandled error');
  return { code: 'INTERNAL' };
}

export function handleError(
  error: FastifyError | KeywardenError,
  request: FastifyRequest,
  reply: FastifyReply,
) {
  const { code, detail, fieldErrors, headers } = classifyError(error, request);
  return sendProblem(reply, code, detail, fieldErrors, headers);
}
