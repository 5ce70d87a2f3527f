import { type IpAddress, parseIp, samePrefix } from './address.ts';

export { formatIp, type IpAddress, parseIp, samePrefix } from './address.ts';

/**
 * IP allowlists as real CIDR matching (IPv4, IPv6, and IPv4-mapped IPv6 addresses treated as
 * the IPv4 address they carry) — not the exact-string comparison some key platforms do. Every
 * spelling of one address is parsed to one canonical form (address.ts), so it matches the
 * same ranges however the proxy or the client wrote it.
 */
export interface IpRange {
  /** IPv4 ranges match IPv4 (and IPv4-mapped) addresses only; IPv6 ranges the others. */
  readonly family: 4 | 6;
  /** The canonical 16 bytes of the base address. */
  readonly base: Uint8Array;
  /** Prefix length over the 16 bytes (an IPv4 /8 is 96 + 8). */
  readonly bits: number;
}

export interface IpMatcher {
  /** No ranges configured: every address is allowed. */
  readonly allowsAll: boolean;
  matches(ip: string | null | undefined): boolean;
}

const PREFIX_LENGTH = /^(0|[1-9][0-9]{0,2})$/;

/**
 * Parses `10.0.0.0/8`, `2001:db8::/32`, `::ffff:10.0.0.0/104` (= `10.0.0.0/8`), or a bare
 * address (a /32 or /128).
 */
export function parseCidr(text: string): IpRange | null {
  if (typeof text !== 'string' || text.length > 64) return null;
  const slash = text.indexOf('/');
  const address = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (!address) return null;
  const written = text.includes(':') ? 6 : 4;
  let bits = written === 4 ? 32 : 128;
  if (slash >= 0) {
    const length = text.slice(slash + 1);
    if (!PREFIX_LENGTH.test(length) || Number(length) > bits) return null;
    bits = Number(length);
  }
  const internalBits = written === 4 ? 96 + bits : bits;
  // An IPv6 prefix shorter than /96 around a mapped address covers more than IPv4: it is an
  // IPv6 range (and, like every IPv6 range, matches no IPv4 address).
  const family = address.family === 4 && internalBits >= 96 ? 4 : 6;
  return { family, base: address.bytes, bits: internalBits };
}

export function isValidCidr(text: string): boolean {
  return parseCidr(text) !== null;
}

export function rangeContains(range: IpRange, address: IpAddress): boolean {
  return range.family === address.family && samePrefix(range.base, address.bytes, range.bits);
}

export function compileIpMatcher(cidrs: readonly string[]): IpMatcher {
  const ranges = cidrs.map(parseCidr).filter((r): r is IpRange => r !== null);
  if (cidrs.length === 0) return { allowsAll: true, matches: () => true };
  return {
    allowsAll: false,
    matches(ip) {
      if (!ip) return false;
      const address = parseIp(ip);
      if (!address) return false;
      return ranges.some((range) => rangeContains(range, address));
    },
  };
}
