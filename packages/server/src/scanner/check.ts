import { checkKeyFormat } from '@keywarden/core';

/**
 * `--check` and `--revoke`: which keywarden keys found are live, asked of the server through
 * the existing verify API (a management key with `verify:read`), and revoking those. The
 * server is reached through a `KeyLivenessClient`, so this is testable without HTTP.
 */

/** What the scanner needs from a keywarden server. */
export interface KeyLivenessClient {
  /** `POST /v1/verify` with `cost: 0`, so that a check never spends the key's limits. */
  verify(key: string): Promise<{ code: string; keyId?: string }>;
  /** `POST /v1/keys/{id}/revoke` with a reason. */
  revoke(keyId: string, reason: string): Promise<void>;
}

/**
 * - `live`: the server knows the key and would accept it somewhere (VALID, or refused only
 *   for this request: scope, IP, environment, rate limit, quota, budget).
 * - `disabled`: known and disabled, which an operator can undo: still a credential.
 * - `dead`: unknown, revoked, expired or malformed: nothing to do.
 * - `unchecked`: not asked (management keys, which the verify API does not cover) or the
 *   server could not answer.
 */
export type LiveStatus = 'live' | 'disabled' | 'dead' | 'unchecked';

export interface KeyCheck {
  status: LiveStatus;
  code?: string;
  keyId?: string;
  note?: string;
}

const DEAD_CODES = new Set(['NOT_FOUND', 'REVOKED', 'EXPIRED', 'MALFORMED', 'MISSING']);

export function statusForCode(code: string): LiveStatus {
  if (code === 'DISABLED') return 'disabled';
  return DEAD_CODES.has(code) ? 'dead' : 'live';
}

/**
 * Management keys carry the reserved `kwadmin` prefix (store migration 001). The verify API
 * answers NOT_FOUND for them whatever their state, which would read as "dead": say instead
 * that they were not checked.
 */
export const MANAGEMENT_KEY_PREFIX = 'kwadmin';

export function isManagementKey(key: string): boolean {
  const parsed = checkKeyFormat(key);
  return parsed.ok && parsed.key.prefix === MANAGEMENT_KEY_PREFIX;
}

/** Checks each distinct key once; the answer is keyed by the key itself (in memory only). */
export async function checkKeys(
  keys: Iterable<string>,
  client: KeyLivenessClient,
): Promise<Map<string, KeyCheck>> {
  const checks = new Map<string, KeyCheck>();
  for (const key of keys) {
    if (checks.has(key)) continue;
    if (isManagementKey(key)) {
      checks.set(key, {
        status: 'unchecked',
        note: 'management key: the verify API does not cover it; list and revoke management keys on the server',
      });
      continue;
    }
    const { code, keyId } = await client.verify(key);
    checks.set(key, { status: statusForCode(code), code, ...(keyId ? { keyId } : {}) });
  }
  return checks;
}

/** The reason recorded in the audit log; the API caps it at 500 characters. */
export function revocationReason(location: string): string {
  const prefix = 'leaked: found by keywarden scan at ';
  const room = 500 - prefix.length;
  return prefix + (location.length <= room ? location : `…${location.slice(-(room - 1))}`);
}
