import { lookup } from 'node:dns/promises';
import { buildConnector } from 'undici';
import { formatIp, type IpAddress, parseIp } from '../netaddr/index.ts';
import {
  bareHost,
  decideResolved,
  type HostPolicySettings,
  type HostVerdict,
  REFUSAL_TEXT,
} from './host-policy.ts';

/** A name → the addresses it resolves to (any spelling; unparseable ones are dropped). */
export type ResolveHost = (hostname: string) => Promise<string[]>;

/** Opens the TCP (or TLS) connection to an address the policy accepted: undici's connector. */
export type DialUpstream = buildConnector.connector;

/** The system resolver, every address (IPv4 and IPv6), in the order it gives them. */
export const systemResolveHost: ResolveHost = async (hostname) =>
  (await lookup(hostname, { all: true, order: 'verbatim' })).map((entry) => entry.address);

/** A connection refused by the host policy: the gateway answers 502 as for any failed connect. */
export class UpstreamHostRefusedError extends Error {
  readonly code = 'UPSTREAM_HOST_REFUSED';
  constructor(readonly verdict: Extract<HostVerdict, { allowed: false }>) {
    super(`the upstream host ${verdict.subject} ${REFUSAL_TEXT[verdict.reason]}`);
    this.name = 'UpstreamHostRefusedError';
  }
}

/**
 * undici's connector with the host policy in front: resolve the name, check every address,
 * then connect to the checked address itself — never to the name, which a second lookup
 * could answer differently (DNS rebinding). TLS still verifies the certificate against the
 * name (undici takes the server name from the URL's host, which is passed on unchanged).
 */
export function checkedConnector(options: {
  settings: () => HostPolicySettings;
  resolve: ResolveHost;
  /** Opens the connection; tests put a recording dialer here. Default: undici's own. */
  dial?: DialUpstream;
  /** Bounds the lookup; the dialer bounds the connect. */
  timeoutMs: number;
  /** A refusal let through (an existing upstream, see host-policy.ts `toleratedForExisting`). */
  tolerate?: (verdict: HostVerdict) => boolean;
  onRefused?: (error: UpstreamHostRefusedError) => void;
}): DialUpstream {
  const dial = options.dial ?? buildConnector({ timeout: options.timeoutMs });
  return (connect, callback) => {
    const hostname = bareHost(connect.hostname);
    const port = Number(connect.port) || (connect.protocol === 'https:' ? 443 : 80);
    addressesOf(hostname, options.resolve, options.timeoutMs).then(
      (addresses) => {
        const verdict = decideResolved(hostname, port, addresses, options.settings());
        if (!verdict.allowed && !options.tolerate?.(verdict)) {
          const error = new UpstreamHostRefusedError(verdict);
          options.onRefused?.(error);
          callback(error, null);
          return;
        }
        dialInTurn(dial, connect, addresses, callback);
      },
      (error: Error) => callback(error, null),
    );
  };
}

/**
 * Each checked address in the resolver's order until one connects: a name with an IPv6
 * address this host cannot route still reaches its IPv4 one (what Node's own connect does).
 */
function dialInTurn(
  dial: DialUpstream,
  connect: buildConnector.Options,
  addresses: readonly IpAddress[],
  callback: buildConnector.Callback,
  index = 0,
): void {
  dial({ ...connect, hostname: formatIp(addresses[index]!) }, (error, socket) => {
    if (error && index + 1 < addresses.length) {
      dialInTurn(dial, connect, addresses, callback, index + 1);
      return;
    }
    if (error) callback(error, null);
    else callback(null, socket!);
  });
}

async function addressesOf(
  hostname: string,
  resolve: ResolveHost,
  timeoutMs: number,
): Promise<IpAddress[]> {
  const literal = parseIp(hostname);
  if (literal) return [literal];
  const texts = await withTimeout(resolve(hostname), timeoutMs, hostname);
  const addresses = texts.map(parseIp).filter((a): a is IpAddress => a !== null);
  if (addresses.length === 0)
    throw Object.assign(new Error(`${hostname} resolved to no address`), { code: 'ENOTFOUND' });
  return addresses;
}

function withTimeout<T>(work: Promise<T>, ms: number, hostname: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          Object.assign(new Error(`looking up ${hostname} took over ${ms} ms`), {
            code: 'UND_ERR_CONNECT_TIMEOUT',
          }),
        ),
      ms,
    );
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
