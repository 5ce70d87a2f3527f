/**
 * The one catalogue of every error keywarden answers with. A code is stable: clients and
 * docs (docs/errors.md) rely on it; the title is the public, generic message. Details that
 * vary per request go in `detail`, never anything secret.
 */
export const ERROR_CATALOGUE = {
  // Verification outcomes that reject a request (see DESIGN.md "Verification").
  MISSING: { status: 401, title: 'No API key was presented' },
  MALFORMED: { status: 401, title: 'The API key is malformed' },
  NOT_FOUND: { status: 401, title: 'The API key is not known' },
  REVOKED: { status: 401, title: 'The API key has been revoked' },
  EXPIRED: { status: 401, title: 'The API key has expired' },
  DISABLED: { status: 401, title: 'The API key is disabled' },
  WRONG_ENV: { status: 401, title: 'The API key belongs to another environment' },
  INSUFFICIENT_SCOPE: { status: 403, title: 'The API key lacks a required scope' },
  IP_NOT_ALLOWED: { status: 403, title: 'The client address is not allowed for this API key' },
  MODEL_NOT_ALLOWED: { status: 403, title: 'The API key may not use this model' },
  RATE_LIMITED: { status: 429, title: 'Rate limit exceeded' },
  QUOTA_EXCEEDED: { status: 429, title: 'No credits left on this API key' },
  BUDGET_EXCEEDED: { status: 429, title: 'A budget does not allow this request' },

  // Request problems.
  VALIDATION_FAILED: { status: 400, title: 'The request is not valid' },
  INVALID_JSON: { status: 400, title: 'The request body is not valid JSON' },
  INVALID_UTF8: { status: 400, title: 'The request body is not valid UTF-8' },
  INVALID_CURSOR: { status: 400, title: 'The pagination cursor is not valid' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported content type' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'The request body is too large' },
  ROUTE_NOT_FOUND: { status: 404, title: 'No such route' },
  // Refused by Node's HTTP parser before routing (http/client-error.ts).
  BAD_REQUEST: { status: 400, title: 'The request is not valid HTTP' },
  REQUEST_TIMEOUT: { status: 408, title: 'The request did not arrive in time' },
  HEADERS_TOO_LARGE: { status: 431, title: 'The request headers are too large' },

  // Resources.
  RESOURCE_NOT_FOUND: { status: 404, title: 'The resource does not exist' },
  ALREADY_EXISTS: { status: 409, title: 'A resource with this name already exists' },
  KEY_STATE_CONFLICT: { status: 409, title: 'The key is not in a state that allows this' },
  PROJECT_NOT_EMPTY: { status: 409, title: 'The project still has keys' },
  IDEMPOTENCY_KEY_REUSED: {
    status: 422,
    title: 'This Idempotency-Key was used for a different request',
  },
  INVALID_SIGNATURE: { status: 401, title: 'The request signature is missing or invalid' },

  // Gateway: the upstream behind /gw/{upstream}/… failed.
  UPSTREAM_UNAVAILABLE: { status: 502, title: 'The upstream could not be reached' },
  UPSTREAM_TIMEOUT: { status: 504, title: 'The upstream did not answer in time' },

  // Server side.
  SERVICE_UNAVAILABLE: { status: 503, title: 'The service is not ready' },
  INTERNAL: { status: 500, title: 'Internal error' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export function problemType(code: ErrorCode): string {
  return `urn:keywarden:problem:${code.toLowerCase()}`;
}
