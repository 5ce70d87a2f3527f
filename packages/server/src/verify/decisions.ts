import { missingScopes } from '@keywarden/core';
import type { IpMatcher } from '../netaddr/index.ts';
import type { KeyRecord, RotationPolicy } from '../store/index.ts';
import type { RejectionCode } from './codes.ts';

/**
 * The pipeline's decisions as pure functions over plain data and the current time, so that
 * each rule is tested exactly and every entry point applies the same ones.
 */
export function decideKeyState(
  key: Pick<KeyRecord, 'status' | 'expiresAt'>,
  nowMs: number,
): RejectionCode | null {
  if (key.status === 'revoked') return 'REVOKED';
  if (key.expiresAt !== null && key.expiresAt <= nowMs) return 'EXPIRED';
  if (key.status === 'disabled') return 'DISABLED';
  return null;
}

const DAY_MS = 86_400_000;

/**
 * A project's rotation policy can be enforced: a key older than maxAgeDays (+ graceDays)
 * answers EXPIRED, so a forgotten key cannot outlive the policy.
 */
export function decideKeyAge(
  key: Pick<KeyRecord, 'createdAt' | 'env'>,
  policy: RotationPolicy,
  nowMs: number,
): RejectionCode | null {
  const rule = policy[key.env] ?? policy['*'];
  if (!rule?.enforce) return null;
  return key.createdAt + (rule.maxAgeDays + (rule.graceDays ?? 0)) * DAY_MS <= nowMs
    ? 'EXPIRED'
    : null;
}

/** `accepted`: the one environment the caller serves, or the set it accepts (gateway upstreams). */
export function decideEnvironment(
  keyEnv: string,
  accepted: string | readonly string[] | undefined | null,
): RejectionCode | null {
  if (accepted === undefined || accepted === null || accepted === '') return null;
  if (typeof accepted === 'string') return accepted === keyEnv ? null : 'WRONG_ENV';
  return accepted.includes(keyEnv) ? null : 'WRONG_ENV';
}

export function decideClientIp(
  matcher: IpMatcher,
  clientIp: string | null | undefined,
): RejectionCode | null {
  return matcher.matches(clientIp) ? null : 'IP_NOT_ALLOWED';
}

export function decideScopes(
  granted: readonly string[],
  required: readonly string[] | undefined,
): { code: RejectionCode; missing: string[] } | null {
  if (!required || required.length === 0) return null;
  const missing = missingScopes(granted, required);
  return missing.length > 0 ? { code: 'INSUFFICIENT_SCOPE', missing } : null;
}
