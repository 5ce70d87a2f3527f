import { isValidScope } from '@keywarden/core';
import { invalidField } from '../errors/index.ts';
import {
  type CreditsRefill,
  invalidCreditsReason,
  invalidRuleReason,
  type RateLimitRule,
} from '../limiter/index.ts';
import { isValidCidr } from '../netaddr/index.ts';

/**
 * Checks the HTTP schema cannot express (grammar of scopes and CIDRs, times relative to
 * now, the project's environments). Shared by the API and the CLI's direct commands, so a
 * bad value gets the same answer, naming the same field, on every path.
 */
export const MAX_META_BYTES = 8 * 1024;

export function validateScopes(scopes: readonly string[]): void {
  scopes.forEach((scope, i) => {
    if (!isValidScope(scope)) {
      throw invalidField(
        `/scopes/${i}`,
        `"${scope.slice(0, 40)}" is not a scope (resource:read|write|admin)`,
      );
    }
  });
}

export function validateAllowedIps(cidrs: readonly string[]): void {
  cidrs.forEach((cidr, i) => {
    if (!isValidCidr(cidr))
      throw invalidField(`/allowedIps/${i}`, 'not an IP address or CIDR range');
  });
}

export function validateExpiry(expiresAt: number | null | undefined, nowMs: number): void {
  if (expiresAt !== null && expiresAt !== undefined && expiresAt <= nowMs) {
    throw invalidField('/expiresAt', 'must be in the future');
  }
}

export function validateMeta(meta: Record<string, unknown> | undefined): void {
  if (meta !== undefined && Buffer.byteLength(JSON.stringify(meta)) > MAX_META_BYTES) {
    throw invalidField('/meta', `must be at most ${MAX_META_BYTES} bytes as JSON`);
  }
}

export function validateEnvironment(env: string, allowed: readonly string[]): void {
  if (!allowed.includes(env)) {
    throw invalidField('/env', `must be one of the project's environments: ${allowed.join(', ')}`);
  }
}

/** Parses an ISO 8601 timestamp from the API into epoch milliseconds. */
export function parseTimestamp(
  field: string,
  text: string | null | undefined,
): number | null | undefined {
  if (text === null || text === undefined) return text;
  const ms = Date.parse(text);
  if (!Number.isFinite(ms)) throw invalidField(field, 'must be an ISO 8601 date-time');
  return ms;
}

export const RATE_LIMIT_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;

/** Named rate limits: valid rules, unique names. `field` is the JSON pointer of the list. */
export function validateRatelimits(
  field: string,
  rules: readonly RateLimitRule[] | null | undefined,
): void {
  if (!rules) return;
  const names = new Set<string>();
  rules.forEach((rule, i) => {
    if (!RATE_LIMIT_NAME.test(rule.name))
      throw invalidField(`${field}/${i}/name`, 'must match [a-z0-9][a-z0-9_-]{0,31}');
    const reason = invalidRuleReason(rule);
    if (reason) throw invalidField(`${field}/${i}`, reason);
    if (names.has(rule.name))
      throw invalidField(`${field}/${i}/name`, `"${rule.name}" is used twice`);
    names.add(rule.name);
  });
}

export interface CreditsInput {
  remaining: number;
  refill?: CreditsRefill | null;
}

export function validateCredits(
  field: string,
  credits: CreditsInput | null | undefined,
  nowMs: number,
): void {
  if (!credits) return;
  const reason = invalidCreditsReason(
    { refill: credits.refill ?? null },
    { remaining: credits.remaining, lastRefillAt: nowMs },
  );
  if (reason) throw invalidField(field, reason);
}
