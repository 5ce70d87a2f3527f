import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from './cleanup.ts';
import type { LoadOptions, LoadResult, LoadTool } from './load.ts';
import { runCommand } from './proc.ts';

/**
 * wrk with one thread (`-t1`: on two cores the other core belongs to the server) and
 * `--latency`, whose text output is parsed here. wrk has no machine-readable output short of
 * a Lua script; its text format has been stable since 2015. A method or body other than a
 * plain GET needs a Lua script too (`-s`): it sets `wrk.method` and `wrk.body` once, so every
 * request carries the very same bytes and the script costs nothing per request.
 */

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "61.00us" → 0.061, "1.61ms" → 1.61, "2.00s" → 2000. */
export function parseWrkDuration(text: string): number {
  const match = /^([\d.]+)(us|ms|s|m|h)$/.exec(text.trim());
  if (!match) throw new Error(`wrk: unreadable duration "${text}"`);
  // Rounded to the ns: 26.00us × 0.001 must read 0.026, not 0.026000000000000002.
  return Math.round(Number(match[1]) * UNIT_MS[match[2]!]! * 1e6) / 1e6;
}

export function parseWrkOutput(text: string): LoadResult {
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(text);
  const p50 = /^\s+50%\s+(\S+)/m.exec(text);
  const p99 = /^\s+99%\s+(\S+)/m.exec(text);
  const total = /^\s+(\d+) requests in /m.exec(text);
  if (!rps || !p50 || !p99 || !total) throw new Error(`wrk: unexpected output:\n${text}`);
  const non2xx = /^\s+Non-2xx or 3xx responses:\s+(\d+)/m.exec(text);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const errors = socket ? socket.slice(1, 5).reduce((sum, n) => sum + Number(n), 0) : 0;
  return {
    requestsPerSecond: Number(rps[1]),
    p50Ms: parseWrkDuration(p50[1]!),
    p99Ms: parseWrkDuration(p99[1]!),
    requests: Number(total[1]),
    non2xx: non2xx ? Number(non2xx[1]) : 0,
    errors,
  };
}

/**
 * A Lua long string holding `text` exactly: its level of `=` is one the text does not close
 * on, and the newline after the opening bracket is there because Lua drops the first one.
 */
export function luaLongString(text: string): string {
  let level = '';
  while (text.includes(`]${level}]`)) level += '=';
  return `[${level}[\n${text}]${level}]`;
}

export function requestScript(method: string, body: string | undefined): string {
  const lines = [`wrk.method = ${luaLongString(method)}`];
  if (body !== undefined) lines.push(`wrk.body = ${luaLongString(body)}`);
  return `${lines.join('\n')}\n`;
}

let scriptDir: string | undefined;
const scriptFiles = new Map<string, string>();

/** One script file per distinct request, written once into a temp dir removed at exit. */
function scriptFile(method: string, body: string | undefined): string {
  const script = requestScript(method, body);
  let file = scriptFiles.get(script);
  if (!file) {
    scriptDir ??= makeTempDir('wrk');
    file = join(scriptDir, `request-${scriptFiles.size}.lua`);
    writeFileSync(file, script);
    scriptFiles.set(script, file);
  }
  return file;
}

export function wrkTool(version: string): LoadTool {
  return {
    name: 'wrk',
    description: `wrk ${version}, 1 thread`,
    latencyResolutionMs: 0.01,
    async run(options: LoadOptions): Promise<LoadResult> {
      const headers = Object.entries(options.headers ?? {}).flatMap(([k, v]) => [
        '-H',
        `${k}: ${v}`,
      ]);
      const plainGet = (options.method ?? 'GET') === 'GET' && options.body === undefined;
      const script = plainGet ? [] : ['-s', scriptFile(options.method ?? 'GET', options.body)];
      const args = [
        '-t1',
        `-c${options.connections}`,
        `-d${options.durationSeconds}s`,
        '--timeout',
        '5s',
        '--latency',
        ...headers,
        ...script,
        options.url,
      ];
      const result = await runCommand('wrk', args, {
        timeoutMs: (options.durationSeconds + 15) * 1000,
      });
      if (result.code !== 0) throw new Error(`wrk exited ${result.code}: ${result.stderr}`);
      return parseWrkOutput(result.stdout);
    },
  };
}
