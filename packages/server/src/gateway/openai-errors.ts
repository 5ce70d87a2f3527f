import { ERROR_CATALOGUE, type ErrorCode } from '../errors/index.ts';

/**
 * keywarden's refusals in OpenAI's error shape, so that the official SDKs raise the error
 * class a program written for OpenAI already handles: 401 AuthenticationError
 * (`invalid_api_key`), 403 PermissionDeniedError, 429 RateLimitError (`rate_limit_exceeded`,
 * or `insufficient_quota` for spent credits and budgets — which the SDK is told not to retry).
 */
export interface OpenAIErrorBody {
  error: {
    message: string;
    type: string;
    param: string | null;
    code: string | null;
    /** keywarden's stable code (docs/errors.md), for programs that want the precise reason. */
    keywarden_code: ErrorCode;
  };
}

const OPENAI_CODES: Partial<Record<ErrorCode, { type: string; code: string | null }>> = {
  MISSING: { type: 'invalid_request_error', code: 'missing_api_key' },
  MALFORMED: { type: 'invalid_request_error', code: 'invalid_api_key' },
  NOT_FOUND: { type: 'invalid_request_error', code: 'invalid_api_key' },
  REVOKED: { type: 'invalid_request_error', code: 'invalid_api_key' },
  EXPIRED: { type: 'invalid_request_error', code: 'invalid_api_key' },
  DISABLED: { type: 'invalid_request_error', code: 'invalid_api_key' },
  WRONG_ENV: { type: 'invalid_request_error', code: 'invalid_api_key' },
  INSUFFICIENT_SCOPE: { type: 'permission_error', code: 'insufficient_scope' },
  IP_NOT_ALLOWED: { type: 'permission_error', code: 'ip_not_allowed' },
  MODEL_NOT_ALLOWED: { type: 'permission_error', code: 'model_not_allowed' },
  RATE_LIMITED: { type: 'requests', code: 'rate_limit_exceeded' },
  QUOTA_EXCEEDED: { type: 'insufficient_quota', code: 'insufficient_quota' },
  BUDGET_EXCEEDED: { type: 'insufficient_quota', code: 'insufficient_quota' },
  VALIDATION_FAILED: { type: 'invalid_request_error', code: null },
  INVALID_JSON: { type: 'invalid_request_error', code: null },
  PAYLOAD_TOO_LARGE: { type: 'invalid_request_error', code: null },
  UNSUPPORTED_MEDIA_TYPE: { type: 'invalid_request_error', code: 'unsupported_media_type' },
  ROUTE_NOT_FOUND: { type: 'invalid_request_error', code: 'unknown_url' },
  UPSTREAM_UNAVAILABLE: { type: 'server_error', code: 'upstream_unavailable' },
  UPSTREAM_TIMEOUT: { type: 'server_error', code: 'upstream_timeout' },
  SERVICE_UNAVAILABLE: { type: 'server_error', code: 'service_unavailable' },
};

export function openaiError(
  code: ErrorCode,
  detail?: string,
  options: { param?: string | null; tokens?: boolean } = {},
): { status: number; body: OpenAIErrorBody } {
  const entry = ERROR_CATALOGUE[code];
  const shape = OPENAI_CODES[code] ?? { type: 'server_error', code: null };
  return {
    status: entry.status,
    body: {
      error: {
        message: detail ? `${entry.title}: ${detail}` : entry.title,
        // OpenAI says which rate limit was hit in `type`: requests or tokens.
        type: code === 'RATE_LIMITED' && options.tokens ? 'tokens' : shape.type,
        param: options.param ?? null,
        code: shape.code,
        keywarden_code: code,
      },
    },
  };
}
