import { randomBytes } from 'node:crypto';

/**
 * Identifiers are `<kind>_<time><random>`: 10 Crockford-base32 characters of milliseconds
 * followed by 16 of randomness (a ULID body). They sort by creation time, which gives
 * cursor pagination a stable order without a second column, and the kind prefix tells a
 * key id from a project id at a glance. They are not secrets.
 */
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export type IdKind = 'key' | 'prj' | 'lek' | 'ups';

export function newId(kind: IdKind, nowMs: number = Date.now()): string {
  let time = '';
  let t = nowMs;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const bytes = randomBytes(16);
  let random = '';
  for (const byte of bytes) random += CROCKFORD[byte & 31];
  return `${kind}_${time}${random}`;
}

/**
 * Request ids are made on every request, so they must be cheap: a random per-process prefix
 * (tells nodes and restarts apart) and a counter. Unique, not secret, not time-ordered.
 */
const REQUEST_PREFIX = `req_${randomBytes(6).toString('base64url')}`;
let requestCounter = 0;

export function newRequestId(): string {
  requestCounter = (requestCounter + 1) % Number.MAX_SAFE_INTEGER;
  return `${REQUEST_PREFIX}${requestCounter.toString(36)}`;
}
