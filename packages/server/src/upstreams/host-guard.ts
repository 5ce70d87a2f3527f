import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { invalidField } from '../errors/index.ts';
import { formatIp, type IpAddress, type IpRange, parseCidr, parseIp } from '../netaddr/index.ts';
import type { UpstreamRecord } from '../store/index.ts';
import {
  checkedConnector,
  type DialUpstream,
  type ResolveHost,
  systemResolveHost,
  type UpstreamHostRefusedError,
} from './connector.ts';
import {
  decideHost,
  decideResolved,
  effectivePort,
  type HostPolicySettings,
  type HostVerdict,
  REFUSAL_TEXT,
  type SelfEndpoint,
  toleratedForExisting,
} from './host-policy.ts';

/** How upstream hosts are looked up and connected to; tests inject both. */
export interface UpstreamNetwork {
  resolve?: ResolveHost;
  dial?: (timeoutMs: number) => DialUpstream;
}

/** How long a lookup at create or update may take before the base URL is taken unresolved. */
const CHECK_LOOKUP_MS = 2_000;

/**
 * The host policy (host-policy.ts) applied to this node: its settings, where it listens, its
 * resolver. It checks a base URL when one is written (a 400 naming `baseUrl`), builds the
 * checked connector each upstream pool dials through, and names the stored upstreams the
 * policy refuses (for the start log and /readyz).
 */
export class UpstreamHostGuard {
  readonly #allowLoopback: boolean;
  readonly #resolve: ResolveHost;
  readonly #dial: ((timeoutMs: number) => DialUpstream) | undefined;
  #self: SelfEndpoint[];

  constructor(options: {
    allowLoopback: boolean;
    /** From the configuration, until the server says where it really listens. */
    listen: { host: string; port: number };
    network?: UpstreamNetwork;
  }) {
    this.#allowLoopback = options.allowLoopback;
    this.#resolve = options.network?.resolve ?? systemResolveHost;
    this.#dial = options.network?.dial;
    this.#self =
      options.listen.port === 0 ? [] : [selfEndpoint(options.listen.host, options.listen.port)];
  }

  settings(): HostPolicySettings {
    return { allowLoopback: this.#allowLoopback, self: this.#self };
  }

  /** The HTTP server is listening (port 0 is now a real port): an upstream there is refused. */
  listeningOn(address: AddressInfo | string | null): void {
    if (address === null || typeof address === 'string') return;
    this.#self = [selfEndpoint(address.address, address.port)];
  }

  /**
   * A base URL being written: its host as written, then what it resolves to now. A name that
   * does not resolve (yet) is accepted: the connect-time check judges what it resolves to then.
   */
  async checkBaseUrl(baseUrl: string): Promise<void> {
    const url = new URL(baseUrl);
    const port = effectivePort(url);
    let verdict = decideHost(url.hostname, port, this.settings());
    if (verdict.allowed && parseIp(url.hostname.replace(/^\[|\]$/g, '')) === null) {
      const addresses = await this.#lookup(url.hostname);
      if (addresses) verdict = decideResolved(url.hostname, port, addresses, this.settings());
    }
    if (!verdict.allowed)
      throw invalidField(
        '/baseUrl',
        `the host ${verdict.subject} ${REFUSAL_TEXT[verdict.reason]}; upstreams may not point there`,
      );
  }

  /** The host as written, without a lookup: for stored upstreams at start and in /readyz. */
  verdictFor(baseUrl: string): HostVerdict {
    const url = new URL(baseUrl);
    return decideHost(url.hostname, effectivePort(url), this.settings());
  }

  /**
   * The connector of one upstream's pool. An upstream stored before the policy and refused
   * only for loopback or this node's port keeps working until its base URL is changed.
   */
  connectorFor(
    record: UpstreamRecord,
    onRefused?: (error: UpstreamHostRefusedError) => void,
  ): DialUpstream {
    const legacy = toleratedForExisting(this.verdictFor(record.baseUrl));
    return checkedConnector({
      settings: () => this.settings(),
      resolve: this.#resolve,
      dial: this.#dial?.(record.timeouts.connectMs),
      timeoutMs: record.timeouts.connectMs,
      tolerate: (verdict) => legacy && toleratedForExisting(verdict),
      onRefused,
    });
  }

  async #lookup(hostname: string): Promise<IpAddress[] | null> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const texts = await Promise.race([
        this.#resolve(hostname.replace(/\.$/, '')),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('lookup timed out')), CHECK_LOOKUP_MS);
        }),
      ]);
      const addresses = texts.map(parseIp).filter((a): a is IpAddress => a !== null);
      return addresses.length > 0 ? addresses : null;
    } catch {
      return null;
    } finally {
      clearTimeout(timer);
    }
  }
}

const LOOPBACK_LISTENER = ['127.0.0.0/8', '::1/128'];

/**
 * What reaches a listener on `host`: that address; for 0.0.0.0 or ::, every local address
 * and all of loopback; for `localhost`, loopback.
 */
function selfEndpoint(host: string, port: number): SelfEndpoint {
  const bare = host.replace(/^\[|\]$/g, '');
  const address = parseIp(bare);
  let cidrs: string[];
  if (bare === 'localhost') cidrs = LOOPBACK_LISTENER;
  else if (address === null) cidrs = [];
  else if (formatIp(address) === '0.0.0.0' || formatIp(address) === '::')
    cidrs = [
      ...LOOPBACK_LISTENER,
      ...Object.values(networkInterfaces()).flatMap((list) =>
        (list ?? []).map((entry) => entry.address),
      ),
    ];
  else cidrs = [bare];
  const ranges = cidrs.map(parseCidr).filter((r): r is IpRange => r !== null);
  return { ranges, port };
}
