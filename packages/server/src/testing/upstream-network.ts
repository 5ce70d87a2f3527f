import { buildConnector } from 'undici';
import { formatIp, parseIp } from '../netaddr/index.ts';
import type { DialUpstream, ResolveHost, UpstreamNetwork } from '../upstreams/index.ts';

/**
 * The network a test node's gateway sees: no test sends traffic to a non-loopback address.
 * Names resolve from `names` (`localhost` to 127.0.0.1, every other name to 198.51.100.1, a
 * documentation address no test can reach); the dialer refuses any address that is not
 * loopback, unless `redirect` sends it to a loopback port (a test standing in for a remote
 * host), and records every address it was asked for.
 */
export interface TestUpstreamNetwork extends Required<UpstreamNetwork> {
  /** `host:port` of every connection the gateway opened, in order (after the policy). */
  dialled: string[];
}

export function testUpstreamNetwork(
  options: {
    names?: Record<string, string[]> | ((hostname: string) => string[]);
    redirect?: Record<string, { host: string; port: number }>;
  } = {},
): TestUpstreamNetwork {
  const dialled: string[] = [];
  const resolve: ResolveHost = async (hostname) => {
    const names = options.names;
    const found = typeof names === 'function' ? names(hostname) : names?.[hostname];
    if (found) return found;
    return hostname === 'localhost' ? ['127.0.0.1'] : ['198.51.100.1'];
  };
  const dial = (timeoutMs: number): DialUpstream => {
    const connect = buildConnector({ timeout: timeoutMs });
    return (target, callback) => {
      const endpoint = `${target.hostname}:${target.port}`;
      dialled.push(endpoint);
      const redirect = options.redirect?.[endpoint];
      const address = parseIp(redirect?.host ?? target.hostname);
      const text = address ? formatIp(address) : '';
      if (!text.startsWith('127.') && text !== '::1') {
        callback(
          new Error(`test network: ${endpoint} is not loopback; no test leaves this host`),
          null,
        );
        return;
      }
      connect(
        redirect ? { ...target, hostname: redirect.host, port: String(redirect.port) } : target,
        callback,
      );
    };
  };
  return { resolve, dial, dialled };
}
