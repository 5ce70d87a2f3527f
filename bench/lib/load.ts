import { spawnSync } from 'node:child_process';
import { autocannonTool } from './autocannon.ts';
import { wrkTool } from './wrk.ts';

/**
 * The load generator, behind one interface so that scenarios do not care which one runs.
 * wrk (one thread) is preferred: it is C, so on two cores it takes less CPU away from the
 * server than a Node load generator, and PEERS.md's reference figures come from it.
 * autocannon is the fallback that is always installed (a devDependency).
 */

export interface LoadOptions {
  url: string;
  connections: number;
  durationSeconds: number;
  headers?: Record<string, string>;
  /** GET unless set; a body (e.g. a JSON chat completion) is sent with every request. */
  method?: 'GET' | 'POST';
  body?: string;
}

export interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  /** Answers outside 2xx/3xx: a benchmark of 401s would measure the wrong path. */
  non2xx: number;
  /** Connect/read/write errors and timeouts. */
  errors: number;
}

export interface LoadTool {
  name: string;
  /** e.g. "wrk 4.1.0, 1 thread" — printed with the results. */
  description: string;
  /** Coarsest latency step it reports (wrk: two decimals of µs or ms; autocannon: whole ms). */
  latencyResolutionMs: number;
  run(options: LoadOptions): Promise<LoadResult>;
}

function wrkVersion(): string | null {
  const probe = spawnSync('wrk', ['--version'], { encoding: 'utf8', timeout: 5000 });
  if (probe.error) return null;
  // wrk prints its banner and usage, and exits 1; the banner is enough.
  const match = /wrk\s+(\S+)/.exec(`${probe.stdout}${probe.stderr}`);
  return match ? (match[1] ?? 'unknown') : null;
}

/**
 * wrk when it is on PATH, unless `prefer` says otherwise; autocannon otherwise, with a message
 * that says how to get the reference tool.
 */
export function detectLoadTool(
  prefer: 'wrk' | 'autocannon' | undefined,
  log: (message: string) => void,
): LoadTool {
  if (prefer === 'autocannon') return autocannonTool();
  const version = wrkVersion();
  if (version) return wrkTool(version);
  const hint = 'install it with `apt-get install -y wrk` (Debian/Ubuntu) or `brew install wrk`';
  if (prefer === 'wrk') throw new Error(`--load wrk: wrk is not on PATH; ${hint}`);
  log(`wrk not found: falling back to autocannon (Node, competes more for CPU); ${hint}`);
  return autocannonTool();
}
