import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  BASE62_ALPHABET,
  encodeBase62,
  type RandomBytes,
  randomBase62,
  secureRandomBytes,
} from './base62.ts';

// Written independently of the code under test, as the reference for round trips.
function decodeBase62(text: string): number {
  let n = 0;
  for (const char of text) {
    const digit = BASE62_ALPHABET.indexOf(char);
    assert.ok(digit >= 0, `not a base62 digit: ${char}`);
    n = n * 62 + digit;
  }
  return n;
}

/** Returns the given bytes in order, cycling, whatever length is asked for. */
function cyclingBytes(source: readonly number[]): RandomBytes {
  let next = 0;
  return (length) => {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = source[next++ % source.length] ?? 0;
    return out;
  };
}

describe('BASE62_ALPHABET', () => {
  it("is GitHub's order: digits, upper case, lower case, each once", () => {
    assert.equal(BASE62_ALPHABET.length, 62);
    assert.equal(new Set(BASE62_ALPHABET).size, 62);
    assert.equal(BASE62_ALPHABET.slice(0, 10), '0123456789');
    assert.equal(BASE62_ALPHABET.slice(10, 36), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ');
    assert.equal(BASE62_ALPHABET.slice(36), 'abcdefghijklmnopqrstuvwxyz');
  });
});

describe('encodeBase62', () => {
  it('encodes known values', () => {
    assert.equal(encodeBase62(0, 0), '0');
    assert.equal(encodeBase62(9, 0), '9');
    assert.equal(encodeBase62(10, 0), 'A');
    assert.equal(encodeBase62(61, 0), 'z');
    assert.equal(encodeBase62(62, 0), '10');
    assert.equal(encodeBase62(62 ** 2 - 1, 0), 'zz');
    assert.equal(encodeBase62(2 ** 32 - 1, 6), '4gfFC3');
  });

  it("left-pads with '0' to the width and never truncates", () => {
    assert.equal(encodeBase62(0, 6), '000000');
    assert.equal(encodeBase62(61, 6), '00000z');
    assert.equal(encodeBase62(62, 3), '010');
    assert.equal(encodeBase62(62 ** 3, 2), '1000');
  });

  it('fits every CRC-32 value into six digits', () => {
    assert.equal(encodeBase62(2 ** 32 - 1, 6).length, 6);
  });

  it('round-trips through an independent decoder (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.nat(12), (n, width) => {
        const text = encodeBase62(n, width);
        assert.ok(text.length >= width);
        assert.equal(decodeBase62(text), n);
      }),
    );
    fc.assert(
      fc.property(fc.maxSafeNat(), (n) => assert.equal(decodeBase62(encodeBase62(n, 0)), n)),
    );
  });

  it('rejects negative, fractional and non-finite numbers', () => {
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      assert.throws(() => encodeBase62(bad, 6), RangeError);
    }
  });
});

describe('randomBase62', () => {
  it('maps accepted bytes with % 62, in order', () => {
    const bytes = Array.from({ length: 62 }, (_, i) => i);
    assert.equal(randomBase62(62, cyclingBytes(bytes)), BASE62_ALPHABET);
    assert.equal(randomBase62(3, cyclingBytes([62, 124, 186])), '000');
    assert.equal(randomBase62(2, cyclingBytes([247, 61])), 'zz');
  });

  it('drops bytes 248..255 (rejection sampling, no modulo bias)', () => {
    const rejected = [248, 249, 250, 251, 252, 253, 254, 255];
    assert.equal(randomBase62(3, cyclingBytes([...rejected, 1, 255, 2, 3])), '123');
  });

  it('gives every character exactly the same share of the byte space', () => {
    // Ten passes over all 256 byte values: 2480 accepted bytes, so 40 of each character.
    const allBytes = Array.from({ length: 256 }, (_, i) => i);
    const text = randomBase62(2480, cyclingBytes(allBytes));
    const counts = new Map<string, number>();
    for (const char of text) counts.set(char, (counts.get(char) ?? 0) + 1);
    assert.equal(counts.size, 62);
    for (const [char, count] of counts) assert.equal(count, 40, `count of ${char}`);
  });

  it('returns the requested length from the alphabet (property)', () => {
    fc.assert(
      fc.property(fc.nat(200), fc.uint8Array({ minLength: 1, maxLength: 64 }), (length, seed) => {
        fc.pre(seed.some((byte) => byte < 248));
        const text = randomBase62(length, cyclingBytes([...seed]));
        assert.equal(text.length, length);
        assert.match(text, /^[0-9A-Za-z]*$/);
      }),
    );
  });

  it('throws instead of spinning when the source yields no usable bytes', () => {
    assert.throws(() => randomBase62(5, cyclingBytes([255])), /no usable bytes/);
    assert.throws(() => randomBase62(5, () => new Uint8Array(0)), /no usable bytes/);
  });

  it('rejects a bad length', () => {
    assert.throws(() => randomBase62(-1), RangeError);
    assert.throws(() => randomBase62(1.5), RangeError);
  });

  it('uses secure randomness by default, covering the whole alphabet', () => {
    const text = randomBase62(20_000);
    assert.equal(text.length, 20_000);
    assert.equal(new Set(text).size, 62);
  });
});

describe('secureRandomBytes', () => {
  it('returns the requested number of bytes, beyond the Web Crypto per-call limit too', () => {
    assert.equal(secureRandomBytes(0).length, 0);
    assert.equal(secureRandomBytes(32).length, 32);
    const big = secureRandomBytes(70_000);
    assert.equal(big.length, 70_000);
    // The tail past 65 536 must be filled too: 4 464 zero bytes in a row would be a bug.
    assert.ok(big.subarray(65_536).some((byte) => byte !== 0));
  });
});
