import { createRequire } from 'node:module';
import type { LoadOptions, LoadResult, LoadTool } from './load.ts';
import { runCommand } from './proc.ts';

/**
 * autocannon, run as its own process (in the orchestrator it would share an event loop with
 * the bench's own bookkeeping) and straight from node_modules rather than through `npx`, so
 * that the pid we track and stop is the load generator itself, not a wrapper around it.
 */

const require = createRequire(import.meta.url);

interface AutocannonJson {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}

export function parseAutocannonJson(text: string): LoadResult {
  const json = JSON.parse(text) as AutocannonJson;
  return {
    requestsPerSecond: json.requests.average,
    p50Ms: json.latency.p50,
    p99Ms: json.latency.p99,
    requests: json.requests.total,
    non2xx: json.non2xx,
    errors: json.errors + json.timeouts,
  };
}

export function autocannonTool(): LoadTool {
  const bin = require.resolve('autocannon/autocannon.js');
  const { version } = require('autocannon/package.json') as { version: string };
  return {
    name: 'autocannon',
    description: `autocannon ${version}, 1 worker`,
    // Its latency histogram counts whole milliseconds: sub-ms latencies read as 0.
    latencyResolutionMs: 1,
    async run(options: LoadOptions): Promise<LoadResult> {
      const headers = Object.entries(options.headers ?? {}).flatMap(([k, v]) => [
        '-H',
        `${k}=${v}`,
      ]);
      const request = [
        ...(options.method ? ['-m', options.method] : []),
        ...(options.body === undefined ? [] : ['-b', options.body]),
      ];
      const args = [
        bin,
        '--json',
        '-c',
        String(options.connections),
        '-d',
        String(options.durationSeconds),
        ...headers,
        ...request,
        options.url,
      ];
      const result = await runCommand(process.execPath, args, {
        timeoutMs: (options.durationSeconds + 20) * 1000,
      });
      if (result.code !== 0) throw new Error(`autocannon exited ${result.code}: ${result.stderr}`);
      return parseAutocannonJson(result.stdout);
    },
  };
}
