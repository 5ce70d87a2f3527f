/**
 * One canonical form for an IP address, whatever its spelling: 16 bytes, IPv4 held as its
 * IPv4-mapped IPv6 address (`::ffff:a.b.c.d`). `10.1.2.3`, `::ffff:10.1.2.3` and
 * `::ffff:a01:203` are one address; so are `::10.1.2.3` and `::a01:203`.
 *
 * Our own parser, not ipaddr.js: ipaddr.js reads any IPv6 text with a dotted tail as
 * IPv4-mapped (`::10.1.2.3` → `::ffff:10.1.2.3`) while the same address in hex (`::a01:203`)
 * stays IPv6, so one address had two meanings in an allowlist.
 *
 * IPv4-compatible addresses (`::a.b.c.d`, RFC 4291 §2.5.5.1, deprecated) stay IPv6: no stack
 * sends them any more, and mapping them would make `::1` mean `0.0.0.1`. IPv4-mapped
 * addresses are the IPv4 address they carry (a dual-stack socket reports IPv4 clients so).
 *
 * Only the strict forms are accepted: four decimal parts for IPv4 (no `1.2.3`, `0x7f.1` or
 * leading zeros, which some parsers read as octal), no zone (`%eth0`).
 */
export interface IpAddress {
  /** 4 for IPv4 and IPv4-mapped IPv6, 6 for every other IPv6 address. */
  readonly family: 4 | 6;
  /** Always 16 bytes: IPv4 as `::ffff:a.b.c.d`. */
  readonly bytes: Uint8Array;
}

const IPV4_PART = /^(0|[1-9][0-9]{0,2})$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;
const MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

function parseIpv4Bytes(text: string): number[] | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const bytes: number[] = [];
  for (const part of parts) {
    if (!IPV4_PART.test(part)) return null;
    const n = Number(part);
    if (n > 255) return null;
    bytes.push(n);
  }
  return bytes;
}

/** 8 groups of 16 bits as 16 bytes; the last 32 bits may be written as dotted IPv4. */
function parseIpv6Bytes(text: string): number[] | null {
  if (text.length > 45 || text.includes('%')) return null;
  let head = text;
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    const v4 = parseIpv4Bytes(text.slice(lastColon + 1));
    if (!v4) return null;
    tail = v4;
    // `::1.2.3.4` keeps its `::`; `a:b:c:d:e:f:1.2.3.4` loses the separator before the IPv4.
    head = text.slice(0, lastColon + 1);
    if (!head.endsWith('::')) head = head.slice(0, -1);
  }
  const halves = head.split('::');
  if (halves.length > 2) return null;
  const groups = (half: string): number[] | null => {
    if (half === '') return [];
    const out: number[] = [];
    for (const group of half.split(':')) {
      if (!HEX_GROUP.test(group)) return null;
      const n = Number.parseInt(group, 16);
      out.push(n >> 8, n & 0xff);
    }
    return out;
  };
  const before = groups(halves[0]!);
  const after = halves.length === 2 ? groups(halves[1]!) : [];
  if (!before || !after) return null;
  const given = before.length + after.length + tail.length;
  if (halves.length === 1) return given === 16 ? [...before, ...tail] : null;
  // `::` stands for at least one group of zeros.
  if (given > 14) return null;
  return [...before, ...new Array<number>(16 - given).fill(0), ...after, ...tail];
}

/** Any spelling of an address → its canonical form; null if `text` is not a strict address. */
export function parseIp(text: string): IpAddress | null {
  if (typeof text !== 'string' || text.length === 0 || text.length > 45) return null;
  if (!text.includes(':')) {
    const v4 = parseIpv4Bytes(text);
    return v4 ? { family: 4, bytes: Uint8Array.from([...MAPPED_PREFIX, ...v4]) } : null;
  }
  const v6 = parseIpv6Bytes(text);
  if (!v6) return null;
  const mapped = MAPPED_PREFIX.every((b, i) => v6[i] === b);
  return { family: mapped ? 4 : 6, bytes: Uint8Array.from(v6) };
}

/** `10.1.2.3`, or the compressed lower-case IPv6 form (RFC 5952): one text per address. */
export function formatIp(address: IpAddress): string {
  const b = address.bytes;
  if (address.family === 4) return `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i]! << 8) | b[i + 1]!);
  // The longest run of two or more zero groups (the first if tied) becomes `::`.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (list: number[]) => list.map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}

/** True when the first `bits` bits of `a` and `b` are equal. */
export function samePrefix(a: Uint8Array, b: Uint8Array, bits: number): boolean {
  let i = 0;
  for (; bits >= 8; bits -= 8, i++) if (a[i] !== b[i]) return false;
  if (bits === 0) return true;
  const mask = (0xff << (8 - bits)) & 0xff;
  return (a[i]! & mask) === (b[i]! & mask);
}
