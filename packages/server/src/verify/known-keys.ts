/**
 * A Bloom filter of the key hashes that exist: "no" is certain, "maybe" costs a store lookup.
 * It lets the verifier answer a forged (checksum-valid, never issued) key without touching
 * the store, while a key that exists is never refused by it: every hash in the store is in
 * the filter (loaded at start, `add`ed on create and rotate through the invalidation channel,
 * and on every key a lookup finds), and nothing is ever removed (a revoked or deleted key
 * stays a "maybe", which only costs a lookup).
 *
 * The hashes are HMAC-SHA256 in hex, already uniformly random: the bit positions are taken
 * from the hash itself (double hashing over two 32-bit words), no further hashing.
 *
 * Size: 16 bits per key of capacity and 11 positions give a false-positive rate of about
 * 0.05% while full; past its capacity the rate climbs, and the owner rebuilds it larger
 * (`overCapacity`). 2^18 keys take 512 KiB.
 */
export class KnownKeyFilter {
  readonly capacity: number;
  readonly #bits: Uint32Array;
  readonly #mask: number;
  #size = 0;

  static readonly BITS_PER_KEY = 16;
  static readonly POSITIONS = 11;

  constructor(capacity: number) {
    // A power of two of bits, so a position is a mask, not a division.
    let bits = 1024;
    while (bits < capacity * KnownKeyFilter.BITS_PER_KEY && bits < 2 ** 31) bits *= 2;
    this.capacity = bits / KnownKeyFilter.BITS_PER_KEY;
    this.#bits = new Uint32Array(bits / 32);
    this.#mask = bits - 1;
  }

  /** Hashes added (a hash added twice counts twice: an upper bound). */
  get size(): number {
    return this.#size;
  }

  get overCapacity(): boolean {
    return this.#size > this.capacity;
  }

  add(hash: string): void {
    const [h1, h2] = words(hash);
    for (let i = 0; i < KnownKeyFilter.POSITIONS; i++) {
      const bit = (h1 + i * h2) & this.#mask;
      this.#bits[bit >>> 5]! |= 1 << (bit & 31);
    }
    this.#size++;
  }

  mightContain(hash: string): boolean {
    const [h1, h2] = words(hash);
    for (let i = 0; i < KnownKeyFilter.POSITIONS; i++) {
      const bit = (h1 + i * h2) & this.#mask;
      if ((this.#bits[bit >>> 5]! & (1 << (bit & 31))) === 0) return false;
    }
    return true;
  }
}

/**
 * Two 32-bit words of the hash (the second odd, so the positions differ). A hash that is not
 * hex (never written by this build) still maps somewhere: NaN words become 0, which only makes
 * it a likelier "maybe".
 */
function words(hash: string): [number, number] {
  const h1 = Number.parseInt(hash.slice(0, 8), 16) || 0;
  const h2 = (Number.parseInt(hash.slice(8, 16), 16) || 0) | 1;
  return [h1 >>> 0, h2 >>> 0];
}
