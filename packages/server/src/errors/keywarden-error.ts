import { ERROR_CATALOGUE, type ErrorCode } from './catalogue.ts';

export interface FieldError {
  /** JSON pointer-ish path of the offending field, e.g. `/scopes/0` or `query.limit`. */
  field: string;
  message: string;
}

/**
 * The error every service throws for an expected failure. The HTTP layer turns it into
 * problem+json; the CLI prints it. `detail` is public: never put a secret in it.
 */
export class KeywardenError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail: string;
  readonly fieldErrors: FieldError[];
  readonly headers: Record<string, string>;

  constructor(
    code: ErrorCode,
    detail?: string,
    options: { fieldErrors?: FieldError[]; headers?: Record<string, string> } = {},
  ) {
    const entry = ERROR_CATALOGUE[code];
    super(detail ?? entry.title);
    this.name = 'KeywardenError';
    this.code = code;
    this.status = entry.status;
    this.detail = detail ?? entry.title;
    this.fieldErrors = options.fieldErrors ?? [];
    this.headers = options.headers ?? {};
  }
}

export function invalidField(field: string, message: string): KeywardenError {
  return new KeywardenError('VALIDATION_FAILED', `${field}: ${message}`, {
    fieldErrors: [{ field, message }],
  });
}

export function notFound(what: string, id: string): KeywardenError {
  return new KeywardenError('RESOURCE_NOT_FOUND', `${what} ${id} does not exist`);
}
