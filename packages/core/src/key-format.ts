/**
 * The key format: `<prefix>_<env>_<random><checksum>`, e.g.
 * `kw_prod_M7H4jxUDDWHP4kZ6A4dxlQYsQIWJuq0u…` (30 random characters, then 6 of checksum).
 *
 * The checksum (CRC-32 of everything before it, in base62) lets any holder of a string — the
 * verifier, a log scanner, a secret-scanning partner — tell a real key from a typo or a random
 * look-alike offline, before a store or cache is touched. It is not a secret and not a MAC.
 */

import { BASE62_ALPHABET, encodeBase62, type RandomBytes, randomBase62 } from './base62.ts';
import { crc32 } from './crc32.ts';

// See crc32.ts: called directly, the builtin keeps its speed in processes that load node-redis.
const charCodeAt = String.prototype.charCodeAt as (this: string, index: number) => number;

export const PREFIX_PATTERN = /^[a-z][a-z0-9]{1,11}$/;
export const ENV_PATTERN = /^[a-z]{2,10}$/;
/** 30 base62 characters ≈ 178 bits of entropy. */
export const RANDOM_LENGTH = 30;
/** CRC-32 < 2^32 < 62^6, so six base62 digits always hold it. */
export const CHECKSUM_LENGTH = 6;
/** Longest possible key: 12 (prefix) + 1 + 10 (env) + 1 + 30 + 6. */
export const MAX_KEY_LENGTH = 60;
/** Shortest possible key: 2 + 1 + 2 + 1 + 30 + 6. */
const MIN_KEY_LENGTH = 42;

/**
 * Finds key-shaped candidates in free text (scanners, redaction); confirm each with
 * `isWellFormedKey`. Global and therefore stateful: use it with `String#replace` or
 * `String#matchAll`, which reset it, not with `test`/`exec` in a loop.
 */
export const KEY_CANDIDATE_REGEX = /\b[a-z][a-z0-9]{1,11}_[a-z]{2,10}_[0-9A-Za-z]{36}\b/g;

// Anchored, linear and only ever run on at most MAX_KEY_LENGTH characters. The parts cannot
// contain '_', so the three groups are exactly the three '_'-separated parts.
const KEY_SHAPE = /^([a-z][a-z0-9]{1,11})_([a-z]{2,10})_([0-9A-Za-z]{36})$/;

export interface ParsedKey {
  prefix: string;
  env: string;
  random: string;
  checksum: string;
}

export type KeyFormatResult =
  | { ok: true; key: ParsedKey }
  | { ok: false; reason: 'malformed' | 'bad_checksum' };

function checksumOf(prefix: string, env: string, random: string): string {
  return encodeBase62(crc32(`${prefix}_${env}_${random}`), CHECKSUM_LENGTH);
}

/** Issues a new key. `randomBytes` is injectable so that tests can pin the result. */
export function generateKey(options: {
  prefix: string;
  env: string;
  randomBytes?: RandomBytes;
}): string {
  const { prefix, env, randomBytes } = options;
  if (typeof prefix !== 'string' || !PREFIX_PATTERN.test(prefix)) {
    throw new TypeError('generateKey: prefix must match /^[a-z][a-z0-9]{1,11}$/');
  }
  if (typeof env !== 'string' || !ENV_PATTERN.test(env)) {
    throw new TypeError('generateKey: env must match /^[a-z]{2,10}$/');
  }
  const random = randomBase62(RANDOM_LENGTH, randomBytes);
  return `${prefix}_${env}_${random}${checksumOf(prefix, env, random)}`;
}

const MALFORMED: KeyFormatResult = Object.freeze({ ok: false, reason: 'malformed' });
const BAD_CHECKSUM: KeyFormatResult = Object.freeze({ ok: false, reason: 'bad_checksum' });

/**
 * Offline check of a presented string. Never throws and does bounded work whatever the input:
 * the length test comes before any regex, so a megabyte of garbage costs one comparison.
 */
export function checkKeyFormat(text: string): KeyFormatResult {
  // `typeof` guards JavaScript callers and parsed JSON, where the type is only a hope.
  if (typeof text !== 'string' || text.length < MIN_KEY_LENGTH || text.length > MAX_KEY_LENGTH) {
    return MALFORMED;
  }
  const match = KEY_SHAPE.exec(text);
  if (match === null) return MALFORMED;
  const [, prefix = '', env = '', tail = ''] = match;
  const random = tail.slice(0, RANDOM_LENGTH);
  const checksum = tail.slice(RANDOM_LENGTH);
  // A plain comparison is fine: the checksum is computed from the presented string itself,
  // so its timing tells an attacker nothing they do not already hold.
  // The checksummed part is the presented text minus its last 6 characters: no copy needed.
  if (checksum !== encodeBase62(crc32(text, text.length - CHECKSUM_LENGTH), CHECKSUM_LENGTH)) {
    return BAD_CHECKSUM;
  }
  return { ok: true, key: { prefix, env, random, checksum } };
}

const KEY_SHAPE_TEST = /^[a-z][a-z0-9]{1,11}_[a-z]{2,10}_[0-9A-Za-z]{36}$/;

/**
 * The same verdict as `checkKeyFormat(text).ok`, for the verification hot path: no captures,
 * no slices, no result object; the checksum digits are compared in place.
 */
export function isWellFormedKey(text: string): boolean {
  if (typeof text !== 'string' || text.length < MIN_KEY_LENGTH || text.length > MAX_KEY_LENGTH) {
    return false;
  }
  if (!KEY_SHAPE_TEST.test(text)) return false;
  let n = crc32(text, text.length - CHECKSUM_LENGTH);
  for (let i = text.length - 1; i >= text.length - CHECKSUM_LENGTH; i--) {
    if (charCodeAt.call(text, i) !== charCodeAt.call(BASE62_ALPHABET, n % 62)) return false;
    n = Math.floor(n / 62);
  }
  return true;
}

/** Shown instead of anything that is not a well-formed key, so input is never echoed back. */
const MALFORMED_DISPLAY = '[malformed key]';
/** Characters of the key's end that the display form keeps (all of them from the checksum). */
const DISPLAY_TAIL_LENGTH = 5;

/**
 * The form that may appear in lists, logs and audit entries: `kw_prod_…uOupm`. Only strings
 * that pass `checkKeyFormat` (checksum included) are displayed; anything else — a typo, a
 * truncated paste, a different secret — becomes `[malformed key]`, since echoing part of an
 * unknown string could leak it.
 */
export function displayKey(keyOrParsed: string | ParsedKey): string {
  const text =
    typeof keyOrParsed === 'string'
      ? keyOrParsed
      : `${keyOrParsed.prefix}_${keyOrParsed.env}_${keyOrParsed.random}${keyOrParsed.checksum}`;
  const result = checkKeyFormat(text);
  if (!result.ok) return MALFORMED_DISPLAY;
  const { prefix, env, checksum } = result.key;
  return `${prefix}_${env}_…${checksum.slice(-DISPLAY_TAIL_LENGTH)}`;
}
