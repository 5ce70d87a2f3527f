import {
  formatIp,
  type IpAddress,
  type IpRange,
  parseCidr,
  parseIp,
  rangeContains,
} from '../netaddr/index.ts';

/**
 * Where an upstream may point: a pure decision over the host as written and the addresses it
 * resolves to. The gateway sends the provider secret there, and lets keys reach whatever is
 * there, so an upstream is a server-side request with the server's own credentials.
 *
 * - Always refused: link-local (169.254/16, fe80::/10, where cloud metadata services answer
 *   with the machine's own credentials), known metadata addresses and names, the
 *   unspecified address (0.0.0.0 and :: reach this machine), and what is not unicast
 *   (multicast, broadcast, 240/4).
 * - Refused unless configured: loopback (`KEYWARDEN_UPSTREAM_ALLOW_LOOPBACK`), for a model
 *   server on the same machine.
 * - Refused: keywarden's own listening address and port (a request loop).
 * - Allowed: everything else, private networks included (self-hosted models live there).
 *
 * Every spelling counts: the URL parser already turns decimal, octal and hex IPv4 into dotted
 * form, netaddr turns IPv4-mapped IPv6 into IPv4, and an IPv6 address that embeds an IPv4
 * address (IPv4-compatible ::/96, NAT64 64:ff9b::/96 and 64:ff9b:1::/48, 6to4 2002::/16) is
 * judged as the stricter of itself and the IPv4 address it carries.
 */
export type HostRefusal =
  | 'link-local'
  | 'metadata'
  | 'unspecified'
  | 'not-unicast'
  | 'loopback'
  | 'self';

/** Refusals no setting lifts and no existing upstream is spared (see `toleratedForExisting`). */
export const ALWAYS_REFUSED: ReadonlySet<HostRefusal> = new Set([
  'link-local',
  'metadata',
  'unspecified',
  'not-unicast',
]);

export interface HostPolicySettings {
  allowLoopback: boolean;
  /** Where this node listens: an upstream there would be keywarden calling itself. */
  self: readonly SelfEndpoint[];
}

export interface SelfEndpoint {
  /** Addresses that reach the listener (every local one when it listens on 0.0.0.0). */
  ranges: readonly IpRange[];
  port: number;
}

export type HostVerdict =
  | { allowed: true }
  | { allowed: false; reason: HostRefusal /** the address or name refused */; subject: string };

const ranges = (list: string[]) => list.map((cidr) => parseCidr(cidr)!);

const UNSPECIFIED = ranges(['0.0.0.0/8', '::/128']);
const LOOPBACK = ranges(['127.0.0.0/8', '::1/128']);
const LINK_LOCAL = ranges(['169.254.0.0/16', 'fe80::/10']);
/** Metadata services outside link-local: AWS over IPv6, Alibaba Cloud. */
const METADATA = ranges(['fd00:ec2::254/128', '100.100.100.200/32']);
const NOT_UNICAST = ranges(['224.0.0.0/4', '240.0.0.0/4', 'ff00::/8']);

/** Names of metadata services, refused even where they do not resolve (the node may move). */
const METADATA_NAMES = new Set([
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
]);

/** Prefixes (bytes) of IPv6 ranges whose last 32 bits are an IPv4 address. */
const EMBEDS_IPV4_IN_LAST_32 = ranges(['::/96', '64:ff9b::/96', '64:ff9b:1::/48']);
const SIX_TO_FOUR = parseCidr('2002::/16')!;

const within = (list: readonly IpRange[], address: IpAddress) =>
  list.some((range) => rangeContains(range, address));

function ipv4(b0: number, b1: number, b2: number, b3: number): IpAddress {
  const bytes = new Uint8Array(16);
  bytes[10] = 0xff;
  bytes[11] = 0xff;
  bytes.set([b0, b1, b2, b3], 12);
  return { family: 4, bytes };
}

/** The IPv4 address an IPv6 address carries, if it is of a kind that carries one. */
function embeddedIpv4(address: IpAddress): IpAddress | null {
  if (address.family !== 6) return null;
  const b = address.bytes;
  if (within(EMBEDS_IPV4_IN_LAST_32, address)) {
    // `::` and `::1` are IPv6's own unspecified and loopback addresses, not 0.0.0.0/0.0.0.1.
    if (within(UNSPECIFIED, address) || within(LOOPBACK, address)) return null;
    return ipv4(b[12]!, b[13]!, b[14]!, b[15]!);
  }
  if (rangeContains(SIX_TO_FOUR, address)) return ipv4(b[2]!, b[3]!, b[4]!, b[5]!);
  return null;
}

/** Most severe first: what an address is refused for, or null. */
function classify(address: IpAddress, allowLoopback: boolean): HostRefusal | null {
  if (within(UNSPECIFIED, address)) return 'unspecified';
  if (within(METADATA, address) || formatIp(address) === '169.254.169.254') return 'metadata';
  if (within(LINK_LOCAL, address)) return 'link-local';
  if (within(NOT_UNICAST, address) || formatIp(address) === '255.255.255.255') return 'not-unicast';
  if (!allowLoopback && within(LOOPBACK, address)) return 'loopback';
  return null;
}

const SEVERITY: HostRefusal[] = [
  'unspecified',
  'metadata',
  'link-local',
  'not-unicast',
  'self',
  'loopback',
];
const worse = (a: HostRefusal | null, b: HostRefusal | null) =>
  a === null ? b : b === null ? a : SEVERITY.indexOf(a) <= SEVERITY.indexOf(b) ? a : b;

/** One resolved (or literal) address, to be connected to on `port`. */
export function decideAddress(
  address: IpAddress,
  port: number,
  settings: HostPolicySettings,
): HostVerdict {
  const carried = embeddedIpv4(address);
  let reason = classify(address, settings.allowLoopback);
  if (carried) reason = worse(reason, classify(carried, settings.allowLoopback));
  if (reason === null || !ALWAYS_REFUSED.has(reason)) {
    const isSelf = settings.self.some(
      (self) =>
        self.port === port && [address, carried].some((a) => a !== null && within(self.ranges, a)),
    );
    if (isSelf) reason = worse(reason, 'self');
  }
  return reason === null
    ? { allowed: true }
    : { allowed: false, reason, subject: formatIp(address) };
}

/** The host as the URL parser gives it: `[::1]` → `::1`, a trailing dot dropped. */
export function bareHost(hostname: string): string {
  const host =
    hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  return host.endsWith('.') ? host.slice(0, -1).toLowerCase() : host.toLowerCase();
}

/**
 * The host as written, before any lookup: an address literal is judged as such; a name is
 * refused if it names a metadata service, and `localhost` (and `*.localhost`, RFC 6761) is
 * loopback. Other names pass here and are judged by what they resolve to.
 */
export function decideHost(
  hostname: string,
  port: number,
  settings: HostPolicySettings,
): HostVerdict {
  const host = bareHost(hostname);
  const literal = parseIp(host);
  if (literal) return decideAddress(literal, port, settings);
  if (METADATA_NAMES.has(host)) return { allowed: false, reason: 'metadata', subject: host };
  if (host === 'localhost' || host.endsWith('.localhost')) {
    for (const loopback of [ipv4(127, 0, 0, 1), parseIp('::1')!]) {
      const verdict = decideAddress(loopback, port, settings);
      if (!verdict.allowed) return { ...verdict, subject: host };
    }
  }
  return { allowed: true };
}

/**
 * A name and what it resolved to: refused if the name is, or if any address is (a name that
 * also resolves to a metadata address is not made safe by its other addresses).
 */
export function decideResolved(
  hostname: string,
  port: number,
  addresses: readonly IpAddress[],
  settings: HostPolicySettings,
): HostVerdict {
  const byName = decideHost(hostname, port, settings);
  if (!byName.allowed) return byName;
  for (const address of addresses) {
    const verdict = decideAddress(address, port, settings);
    if (!verdict.allowed) return verdict;
  }
  return { allowed: true };
}

/** The port a URL connects to. */
export function effectivePort(url: URL): number {
  if (url.port !== '') return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

/**
 * An upstream stored before this policy existed keeps working if it is refused only for a
 * reason a deployment may have chosen (loopback, this node's own port); link-local, metadata
 * and unspecified addresses are refused for every upstream, old or new.
 */
export function toleratedForExisting(verdict: HostVerdict): boolean {
  return !verdict.allowed && !ALWAYS_REFUSED.has(verdict.reason);
}

export const REFUSAL_TEXT: Record<HostRefusal, string> = {
  'link-local': 'is a link-local address (cloud metadata services answer there)',
  metadata: 'is a cloud metadata service',
  unspecified: 'is the unspecified address (0.0.0.0 or ::), which reaches this machine',
  'not-unicast': 'is not a unicast address',
  loopback:
    'is a loopback address; set KEYWARDEN_UPSTREAM_ALLOW_LOOPBACK=true to allow upstreams on this machine',
  self: "is keywarden's own listening address and port",
};
