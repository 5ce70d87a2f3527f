/**
 * Base62 with GitHub's alphabet (`0-9A-Za-z`): used for the random part of a key and for its
 * checksum, so a key is one unbroken "word" that double-click selection and scanners treat as
 * a single token.
 */

export const BASE62_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** A source of random bytes; injected in tests so that generated keys are exact. */
export type RandomBytes = (length: number) => Uint8Array;

// Web Crypto refuses more than 65 536 bytes per call.
const MAX_GET_RANDOM_VALUES = 65_536;

/** Cryptographically secure bytes from Web Crypto: available in Node, browsers and edge runtimes. */
export const secureRandomBytes: RandomBytes = (length) => {
  const bytes = new Uint8Array(length);
  for (let offset = 0; offset < length; offset += MAX_GET_RANDOM_VALUES) {
    globalThis.crypto.getRandomValues(
      bytes.subarray(offset, Math.min(offset + MAX_GET_RANDOM_VALUES, length)),
    );
  }
  return bytes;
};

/**
 * Writes a non-negative safe integer in base62, left-padded with '0' to `width`.
 * Never truncates: a number that needs more digits than `width` keeps all of them.
 */
export function encodeBase62(n: number, width: number): string {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`encodeBase62: expected a non-negative safe integer, got ${n}`);
  }
  let digits = '';
  let rest = n;
  do {
    digits = BASE62_ALPHABET.charAt(rest % 62) + digits;
    rest = Math.floor(rest / 62);
  } while (rest > 0);
  return digits.padStart(width, '0');
}

// 248 = 4 × 62: the largest multiple of 62 that fits in a byte. Bytes at or above it are
// dropped, so `byte % 62` hits every character with the same probability (no modulo bias).
const ACCEPT_BELOW = 248;

/** `length` characters drawn uniformly from the base62 alphabet. */
export function randomBase62(length: number, randomBytes: RandomBytes = secureRandomBytes): string {
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(`randomBase62: expected a non-negative integer length, got ${length}`);
  }
  let out = '';
  let fruitlessRounds = 0;
  while (out.length < length) {
    // Ask for a little more than needed: 1 byte in 32 is rejected on average.
    const bytes = randomBytes(length - out.length + 8);
    const before = out.length;
    for (const byte of bytes) {
      if (byte < ACCEPT_BELOW) {
        out += BASE62_ALPHABET.charAt(byte % 62);
        if (out.length === length) break;
      }
    }
    // A real source never yields dozens of rejected rounds in a row; a broken or exhausted
    // one would otherwise spin here forever.
    fruitlessRounds = out.length === before ? fruitlessRounds + 1 : 0;
    if (fruitlessRounds > 16) throw new Error('randomBase62: randomBytes yields no usable bytes');
  }
  return out;
}
