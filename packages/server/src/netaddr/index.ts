import ipaddr from 'ipaddr.js';

/**
 * IP allowlists as real CIDR matching (IPv4, IPv6, and IPv4-mapped IPv6 addresses treated as
 * the IPv4 address they carry) — not the exact-string comparison some key platforms do.
 */
type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

export interface IpMatcher {
  /** No ranges configured: every address is allowed. */
  readonly allowsAll: boolean;
  matches(ip: string | null | undefined): boolean;
}

// Only canonical forms: ipaddr.js also accepts legacy IPv4 like `1.2.3` or `0x7f.1`, which
// no allowlist author means.
function isStrictAddress(text: string): boolean {
  return ipaddr.IPv4.isValidFourPartDecimal(text) || ipaddr.IPv6.isValid(text);
}

function parseAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  if (!isStrictAddress(text)) return null;
  const address = ipaddr.parse(text);
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) {
    return (address as ipaddr.IPv6).toIPv4Address();
  }
  return address;
}

/** Parses `10.0.0.0/8`, `2001:db8::/32`, or a bare address (a /32 or /128). */
export function parseCidr(text: string): Range | null {
  if (typeof text !== 'string' || text.length > 64) return null;
  try {
    if (text.includes('/')) {
      if (!isStrictAddress(text.slice(0, text.indexOf('/')))) return null;
      const [address, bits] = ipaddr.parseCIDR(text);
      if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) {
        return [(address as ipaddr.IPv6).toIPv4Address(), Math.max(0, bits - 96)];
      }
      return [address, bits];
    }
    const address = parseAddress(text);
    return address ? [address, address.kind() === 'ipv4' ? 32 : 128] : null;
  } catch {
    return null;
  }
}

export function isValidCidr(text: string): boolean {
  return parseCidr(text) !== null;
}

export function compileIpMatcher(cidrs: readonly string[]): IpMatcher {
  const ranges = cidrs.map(parseCidr).filter((r): r is Range => r !== null);
  if (cidrs.length === 0) return { allowsAll: true, matches: () => true };
  return {
    allowsAll: false,
    matches(ip) {
      if (!ip) return false;
      const address = parseAddress(ip);
      if (!address) return false;
      return ranges.some(
        ([base, bits]) => base.kind() === address.kind() && address.match(base as never, bits),
      );
    },
  };
}
