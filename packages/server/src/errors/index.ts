export { ERROR_CATALOGUE, type ErrorCode, problemType } from './catalogue.ts';
export { type FieldError, invalidField, KeywardenError, notFound } from './keywarden-error.ts';
