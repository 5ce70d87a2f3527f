import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crc32 as zlibCrc32 } from 'node:zlib';
import fc from 'fast-check';
import { crc32 } from './crc32.ts';

describe('crc32', () => {
  it('matches the standard check values', () => {
    assert.equal(crc32(''), 0);
    assert.equal(crc32('123456789'), 0xcbf43926);
    assert.equal(crc32('a'), 0xe8b7be43);
    assert.equal(crc32('The quick brown fox jumps over the lazy dog'), 0x414fa339);
    assert.equal(crc32(new Uint8Array([0, 0, 0, 0])), 0x2144df1c);
  });

  it('hashes strings as their UTF-8 bytes', () => {
    assert.equal(crc32('é€😀'), crc32(new TextEncoder().encode('é€😀')));
  });

  it('returns an unsigned 32-bit integer', () => {
    fc.assert(
      fc.property(fc.uint8Array(), (bytes) => {
        const value = crc32(bytes);
        assert.ok(Number.isInteger(value) && value >= 0 && value <= 0xffffffff);
      }),
    );
  });

  it("equals node:zlib's crc32 on arbitrary bytes (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
        assert.equal(crc32(bytes), zlibCrc32(bytes));
      }),
      { numRuns: 500 },
    );
  });

  it("equals node:zlib's crc32 on arbitrary strings, lone surrogates included (property)", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' })), (text) => {
        assert.equal(crc32(text), zlibCrc32(text));
      }),
      { numRuns: 500 },
    );
  });
});
