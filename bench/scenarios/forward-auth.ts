import { processCpuMs } from '../lib/cpu.ts';
import type { LoadOptions, LoadResult } from '../lib/load.ts';
import { type RunningTarget, startKeywarden, startPlain } from '../lib/servers.ts';
import { summarize } from '../lib/stats.ts';
import { type BenchContext, compared, type Row, type Scenario } from '../lib/types.ts';

/**
 * Forward-auth (`GET /v1/auth`, what nginx auth_request / Traefik ForwardAuth call on every
 * request) against the HTTP floor, a bare node:http handler answering 200. Target: forward-auth
 * throughput ≥ 70% of the bare handler's.
 *
 * Two more servers are not targets. Bare Fastify with one route splits the gap into what the
 * framework costs and what keywarden adds. A bare handler that computes the keyed hash of the
 * presented key and answers with keywarden's headers (`bare-keyed-hash.ts`) is the least any
 * forward-auth that stores keys hashed must do; keywarden's throughput is also given as a ratio
 * to it. All are separate processes hit by the same load generator with the same settings and
 * the very same request bytes; runs alternate (bare, Fastify, keyed hash, keywarden, bare, …)
 * so that a noisy phase of the machine hits all alike.
 */

const TITLE = 'forward-auth HTTP';
const BARE = 'bare node:http 200';
const FASTIFY = 'bare Fastify 200';
const HASHED = 'bare node:http + keyed hash + answer headers';
const KW = 'keywarden GET /v1/auth';
const TARGET = 0.7;

interface Target {
  subject: string;
  load: LoadOptions;
  /** Checks one request before measuring: a bench of 401s would measure the wrong path. */
  expectKeyId?: string;
  pid: number | undefined;
  results: LoadResult[];
  /** Server CPU µs per request, per run (empty where /proc is unavailable). */
  cpuPerRequest: number[];
  floor: LoadResult[];
}

async function sanityCheck(target: Target): Promise<void> {
  const { url, headers } = target.load;
  const response = await fetch(url, { headers: headers ?? {} });
  await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`${url} answered ${response.status}, expected 200`);
  const keyId = response.headers.get('x-keywarden-key-id');
  if (target.expectKeyId !== undefined && keyId !== target.expectKeyId) {
    throw new Error(`${url} answered without x-keywarden-key-id ${target.expectKeyId}`);
  }
}

function problems(results: readonly LoadResult[]): string | undefined {
  const non2xx = results.reduce((n, r) => n + r.non2xx, 0);
  const errors = results.reduce((n, r) => n + r.errors, 0);
  return non2xx + errors > 0 ? `${non2xx} non-2xx, ${errors} socket errors` : undefined;
}

function rowsOf(target: Target, connections: number, latencyResolutionMs: number): Row[] {
  const base = { scenario: TITLE, subject: target.subject };
  const note = problems([...target.results, ...target.floor]);
  // autocannon counts whole milliseconds: say so rather than print 0.000 ms as a figure.
  const coarse = latencyResolutionMs >= 1 ? { note: `${latencyResolutionMs} ms steps` } : {};
  const of = (pick: (r: LoadResult) => number, runs = target.results) => summarize(runs.map(pick));
  return [
    {
      ...base,
      metric: `throughput, ${connections} conns`,
      unit: 'req/s',
      stats: of((r) => r.requestsPerSecond),
      ...(note ? { note } : {}),
    },
    {
      ...base,
      metric: `p50 latency, ${connections} conns`,
      unit: 'ms',
      stats: of((r) => r.p50Ms),
      ...coarse,
    },
    {
      ...base,
      metric: `p99 latency, ${connections} conns`,
      unit: 'ms',
      stats: of((r) => r.p99Ms),
      ...coarse,
    },
    {
      ...base,
      metric: 'p50 latency, 1 conn',
      unit: 'ms',
      stats: of((r) => r.p50Ms, target.floor),
      ...coarse,
    },
    ...(target.cpuPerRequest.length > 0
      ? [
          {
            ...base,
            metric: `server CPU per request, ${connections} conns`,
            unit: 'µs',
            stats: summarize(target.cpuPerRequest),
          } satisfies Row,
        ]
      : []),
  ];
}

/** One measured run, with the server's CPU time over it. */
async function measure(ctx: BenchContext, target: Target): Promise<LoadResult> {
  const before = processCpuMs(target.pid);
  const result = await ctx.load.run(target.load);
  const after = processCpuMs(target.pid);
  if (before !== null && after !== null && result.requests > 0) {
    target.cpuPerRequest.push(((after - before) * 1000) / result.requests);
  }
  return result;
}

export const forwardAuth: Scenario = {
  id: 'forward-auth',
  title: TITLE,
  async run(ctx) {
    const s = ctx.settings;
    const started: RunningTarget[] = [];
    try {
      ctx.log(`${TITLE}: starting servers`);
      const bare = await startPlain('bare-http', ctx.profileDir);
      started.push(bare);
      const fastify = await startPlain('bare-fastify', ctx.profileDir);
      started.push(fastify);
      const hashed = await startPlain('bare-keyed-hash', ctx.profileDir);
      started.push(hashed);
      const kw = await startKeywarden(ctx.profileDir);
      started.push(kw);

      // The edge forwards the caller's key and states the scope the route needs.
      const headers = { 'X-API-Key': kw.key, 'X-Keywarden-Scopes': 'billing:read' };
      const target = (subject: string, server: RunningTarget, expectKeyId?: string): Target => ({
        subject,
        pid: server.pid,
        load: {
          url: `${server.url}/v1/auth`,
          connections: s.connections,
          durationSeconds: s.runSeconds,
          headers,
        },
        ...(expectKeyId ? { expectKeyId } : {}),
        results: [],
        cpuPerRequest: [],
        floor: [],
      });
      const targets = [
        target(BARE, bare),
        target(FASTIFY, fastify),
        target(HASHED, hashed),
        target(KW, kw, kw.keyId),
      ];
      for (const t of targets) await sanityCheck(t);

      for (const t of targets) {
        ctx.log(`  warm-up ${t.subject}: ${s.warmupSeconds} s`);
        await ctx.load.run({ ...t.load, durationSeconds: s.warmupSeconds });
      }
      for (let run = 1; run <= s.runs; run++) {
        for (const t of targets) {
          const r = await measure(ctx, t);
          const cpu = t.cpuPerRequest.at(-1);
          ctx.log(
            `  run ${run}/${s.runs} ${t.subject}: ${Math.round(r.requestsPerSecond)} req/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms${cpu === undefined ? '' : `, ${cpu.toFixed(1)} µs CPU/req`}`,
          );
          t.results.push(r);
        }
      }
      for (let run = 1; run <= s.floorRuns; run++) {
        for (const t of targets) {
          const r = await ctx.load.run({
            ...t.load,
            connections: 1,
            durationSeconds: s.floorSeconds,
          });
          ctx.log(`  1-conn run ${run}/${s.floorRuns} ${t.subject}: p50 ${r.p50Ms} ms`);
          t.floor.push(r);
        }
      }

      // Side by side: each figure of the others right under the bare one; then keywarden's
      // throughput against the keyed-hash floor.
      const [bareRows, fastifyRows, hashedRows, kwRows] = targets.map((t) =>
        rowsOf(t, s.connections, ctx.load.latencyResolutionMs),
      );
      return [
        ...bareRows!.flatMap((b, i) => [
          b,
          compared(fastifyRows![i]!, b),
          compared(hashedRows![i]!, b),
          compared(kwRows![i]!, b, i === 0 ? TARGET : undefined),
        ]),
        compared({ ...kwRows![0]!, subject: `${KW} (vs the keyed-hash floor)` }, hashedRows![0]!),
      ];
    } finally {
      // Reverse order of start; each stop waits for its process to exit.
      for (const server of started.reverse()) await server.stop();
    }
  },
};
