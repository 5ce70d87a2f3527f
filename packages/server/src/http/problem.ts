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
  FST_ERR_BAD_URL: 'VALIDATION_FAILED',
  FST_ERR_ASYNC_CONSTRAINT: 'VALIDATION_FAILED',
};

export function handleError(
  error: FastifyError | KeywardenError,
  request: FastifyRequest,
  reply: FastifyReply,
) {
  if (error instanceof KeywardenError) {
    return sendProblem(reply, error.code, error.detail, error.fieldErrors, error.headers);
  }
  if (error.validation) {
    const fields = fieldErrorsFromValidation(error);
    const detail = fields.map((f) => `${f.field}: ${f.message}`).join('; ');
    return sendProblem(reply, 'VALIDATION_FAILED', detail, fields);
  }
  // The store is down (not a bug): 503 to retry, and no stack per request (the verifier's
  // breaker logs the outage once).
  if (isStoreUnavailable(error)) {
    request.log.debug({ err: error }, 'the store does not answer');
    return sendProblem(
      reply,
      'SERVICE_UNAVAILABLE',
      'the store does not answer; retry shortly',
      [],
      {
        'retry-after': '1',
      },
    );
  }
  const mapped = error.code ? FASTIFY_CODES[error.code] : undefined;
  if (mapped) return sendProblem(reply, mapped);
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    request.log.info({ err: error }, 'client error');
    return sendProblem(reply, 'VALIDATION_FAILED', 'the request could not be processed');
  }
  request.log.error({ err: error }, 'unhandled error');
  return sendProblem(reply, 'INTERNAL');
}
