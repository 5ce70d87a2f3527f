import { ERROR_CATALOGUE } from '../errors/index.ts';

/** Verification outcomes, in the order the pipeline checks them (DESIGN.md "Verification"). */
export const VERIFY_CODES = [
  'VALID',
  'MISSING',
  'MALFORMED',
  'NOT_FOUND',
  'REVOKED',
  'EXPIRED',
  'DISABLED',
  'WRONG_ENV',
  'IP_NOT_ALLOWED',
  'INSUFFICIENT_SCOPE',
  'MODEL_NOT_ALLOWED',
  'RATE_LIMITED',
  'QUOTA_EXCEEDED',
  'BUDGET_EXCEEDED',
] as const;

export type VerifyCode = (typeof VERIFY_CODES)[number];
export type RejectionCode = Exclude<VerifyCode, 'VALID'>;

export function httpStatusFor(code: VerifyCode): number {
  return code === 'VALID' ? 200 : ERROR_CATALOGUE[code].status;
}

/**
 * RFC 6750 §3: 401 answers carry `WWW-Authenticate: Bearer`, with `error="invalid_token"`
 * when a token was presented; 403 for scope carries `error="insufficient_scope"`.
 */
export function wwwAuthenticateFor(
  code: VerifyCode,
  missingScopes: readonly string[] = [],
): string | null {
  if (code === 'MISSING') return 'Bearer realm="keywarden"';
  if (httpStatusFor(code) === 401) return 'Bearer realm="keywarden", error="invalid_token"';
  if (code === 'INSUFFICIENT_SCOPE') {
    const scope = missingScopes.join(' ').replace(/["\\]/g, '');
    return `Bearer realm="keywarden", error="insufficient_scope", scope="${scope}"`;
  }
  return null;
}
