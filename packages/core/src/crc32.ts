/**
 * CRC-32 as zlib, PNG and GitHub's token checksums compute it (IEEE 802.3, reflected polynomial
 * 0xEDB88320). Written here rather than taken from `node:zlib` so that the core also runs in
 * browsers and edge runtimes.
 */

// Built once, at first use: 256 entries, one per possible byte.
let table: Uint32Array | undefined;

function crcTable(): Uint32Array {
  if (table !== undefined) return table;
  const built = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let bit = 0; bit < 8; bit++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    built[n] = c >>> 0;
  }
  table = built;
  return built;
}

const utf8 = new TextEncoder();

/** Unsigned 32-bit CRC of the bytes, or of the string's UTF-8 encoding. */
export function crc32(input: string | Uint8Array): number {
  const bytes = typeof input === 'string' ? utf8.encode(input) : input;
  const t = crcTable();
  let crc = 0xffffffff;
  for (const byte of bytes) {
    // The index is a byte, so the entry always exists.
    crc = (t[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}
