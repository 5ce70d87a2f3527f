import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { processCpuMs } from '../lib/cpu.ts';
import { type TimedRequest, timesToFirstChunk } from '../lib/first-chunk.ts';
import type { LoadOptions, LoadResult } from '../lib/load.ts';
import {
  findPortkey,
  type ManagedKeywardenTarget,
  type RunningTarget,
  startManagedKeywarden,
  startMockUpstream,
  startPortkey,
} from '../lib/servers.ts';
import { percentile, summarize } from '../lib/stats.ts';
import {
  type BenchContext,
  compared,
  notMeasured,
  type Row,
  type Scenario,
  type Settings,
} from '../lib/types.ts';

/**
 * The OpenAI-compatible gateway against the same mock upstream, three ways, in one run:
 * direct to the upstream (the floor); through keywarden's `/gw/mock/…` with auth, rate limit,
 * budget and token metering all on; through the Portkey open-source gateway, which checks
 * nothing. Every server is its own process on 127.0.0.1, the mock too, so that it shares an
 * event loop with neither the load generator nor a gateway.
 *
 * Targets (the gateway issue): added p50 ≤ 1 ms and p99 ≤ 3 ms at a moderate load, throughput
 * ≥ Portkey's, no added delay before the first streamed chunk. "Added" is a gateway's figure
 * minus the direct figure of the run next to it: runs alternate direct, keywarden, Portkey,
 * direct, … and the differences are taken pair by pair, so a noisy phase of the machine hits
 * both sides of a difference alike.
 *
 * - throughput: the load generator at `connections` (32), non-streamed completions;
 * - latency at a moderate load: one connection, one request at a time (wrk has no fixed rate);
 * - first streamed chunk: a node:http client, one streamed completion at a time
 *   (lib/first-chunk.ts), p50/p99 per round, medians over rounds; the same client also times
 *   the first byte of non-streamed answers, so that what a stream adds can be told apart from
 *   what the gateway adds to every request.
 */

const TITLE = 'gateway (OpenAI-compatible)';
const DIRECT = 'direct to mock upstream';
const KW = 'keywarden /gw (auth, limits, metering)';
const UPSTREAM = 'mock';
const ADDED_P50_MS = 1;
const ADDED_P99_MS = 3;
/**
 * "No added delay" before the first streamed chunk: a gateway may delay it by what it adds to
 * any request, not more. Measured with one client for both (see rows()), the part a stream
 * adds on top must stay within this, half the p50 budget; holding the stream back would add
 * ≥ 16 ms (the mock's chunk gaps), Portkey's sleep adds 25 ms.
 */
const STREAM_DELAY_MS = 0.5;
/**
 * The mock waits this long between streamed chunks (9 of them for a chat completion): a
 * gateway that held the stream back until its end would show ~16 ms before its first chunk.
 */
const CHUNK_DELAY_MS = 2;

const CHAT = {
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content: 'Say hello in five words.' }],
};
const BODY = JSON.stringify(CHAT);
const STREAM_BODY = JSON.stringify({
  ...CHAT,
  stream: true,
  stream_options: { include_usage: true },
});

interface Target {
  subject: string;
  /** This path's `…/chat/completions`. */
  url: string;
  headers: Record<string, string>;
  /** The process whose CPU is counted: the gateway, or the mock for the direct path. */
  pid: number | undefined;
  throughput: LoadResult[];
  cpuPerRequest: number[];
  latency: LoadResult[];
  firstChunkP50: number[];
  firstChunkP99: number[];
  /** The same client's time to the first byte of a non-streamed answer, p50 per round. */
  firstBytePlainP50: number[];
  /** Read after the runs: what the gateway says it metered (keywarden's usage API). */
  metered?: () => Promise<string>;
  meteredNote?: string;
}

/** A path that could not be set up: its rows say why, the others are still measured. */
interface Missing {
  subject: string;
  why: string;
}

type Slot = Target | Missing;

const isMissing = (slot: Slot): slot is Missing => 'why' in slot;

/** Setup failures that mean "this path cannot be measured here", not "the bench is broken". */
class Unavailable extends Error {}

function target(
  subject: string,
  url: string,
  headers: Record<string, string>,
  pid: number | undefined,
): Target {
  return {
    subject,
    url,
    headers: { 'content-type': 'application/json', ...headers },
    pid,
    throughput: [],
    cpuPerRequest: [],
    latency: [],
    firstChunkP50: [],
    firstChunkP99: [],
    firstBytePlainP50: [],
  };
}

/**
 * As an operator would: an upstream holding the mock's secret, and a key allowed to call it
 * with a rate limit and a budget that are checked and metered on every call but never deny.
 */
async function configureKeywarden(
  kw: ManagedKeywardenTarget,
  mockUrl: string,
  upstreamSecret: string,
): Promise<{ key: string; keyId: string }> {
  const post = async (path: string, body: unknown) => {
    const response = await fetch(`${kw.url}${path}`, {
      method: 'POST',
      headers: { ...management(kw), 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, text: await response.text() };
  };
  const upstream = await post('/v1/upstreams', {
    name: UPSTREAM,
    type: 'openai',
    baseUrl: mockUrl,
    secret: upstreamSecret,
  });
  if (upstream.status === 404) {
    throw new Unavailable('keywarden has no gateway yet (POST /v1/upstreams answered 404)');
  }
  if (upstream.status !== 201) {
    throw new Unavailable(
      `POST /v1/upstreams answered ${upstream.status}: ${upstream.text.slice(0, 300)}`,
    );
  }
  const key = await post('/v1/keys', {
    name: 'gateway bench',
    scopes: [`${UPSTREAM}:write`, `${UPSTREAM}:read`],
    ratelimits: [{ name: 'rpm', limit: 100_000_000, windowSeconds: 60 }],
    budgets: [{ name: 'monthly', amount: 1_000_000, period: 'month' }],
  });
  if (key.status !== 201) {
    throw new Unavailable(`POST /v1/keys answered ${key.status}: ${key.text.slice(0, 300)}`);
  }
  const created = JSON.parse(key.text) as { key?: unknown; id?: unknown };
  if (typeof created.key !== 'string' || typeof created.id !== 'string') {
    throw new Unavailable('POST /v1/keys returned no key');
  }
  return { key: created.key, keyId: created.id };
}

const management = (kw: ManagedKeywardenTarget) => ({
  authorization: `Bearer ${kw.managementKey}`,
});

interface UsageTotals {
  count: number;
  tokensIn: number;
  tokensOut: number;
  costMicros: number;
}

/**
 * What keywarden metered for the bench key, from its usage API once the recorder has flushed
 * (the totals stop moving): proof that metering was on during the runs, not just configured.
 */
async function meteredByKeywarden(kw: ManagedKeywardenTarget, keyId: string): Promise<string> {
  let totals: UsageTotals | undefined;
  for (let attempt = 0; attempt < 10; attempt++) {
    const response = await fetch(
      `${kw.url}/v1/usage?keyId=${encodeURIComponent(keyId)}&granularity=hour`,
      { headers: management(kw) },
    );
    if (!response.ok) return `usage API answered ${response.status}`;
    const report = (await response.json()) as { data: UsageTotals[] };
    const sum = (pick: (b: UsageTotals) => number) => report.data.reduce((n, b) => n + pick(b), 0);
    const next = {
      count: sum((b) => b.count),
      tokensIn: sum((b) => b.tokensIn),
      tokensOut: sum((b) => b.tokensOut),
      costMicros: sum((b) => b.costMicros),
    };
    if (totals && next.count === totals.count) break;
    totals = next;
    await sleep(500);
  }
  const t = totals!;
  return `metered ${t.count.toLocaleString('en-US')} calls, ${t.tokensIn.toLocaleString('en-US')} tokens in, ${t.tokensOut.toLocaleString('en-US')} out, ${(t.costMicros / 1e6).toFixed(2)} spent`;
}

/** One non-streamed and one streamed completion must succeed before anything is measured. */
async function sanityCheck(t: Target): Promise<void> {
  const response = await fetch(t.url, { method: 'POST', headers: t.headers, body: BODY });
  const text = await response.text();
  if (response.status !== 200) {
    throw new Unavailable(`${t.url} answered ${response.status}: ${text.slice(0, 300)}`);
  }
  const json = JSON.parse(text) as { choices?: unknown[] };
  if (!Array.isArray(json.choices) || json.choices.length === 0) {
    throw new Unavailable(`${t.url} answered 200 without choices: ${text.slice(0, 300)}`);
  }
  try {
    await timesToFirstChunk(streamed(t), 1);
  } catch (error) {
    throw new Unavailable(`streaming: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Starts and checks one gateway path; any setup failure becomes a Missing with its reason. */
async function setUp(
  ctx: BenchContext,
  subject: string,
  start: () => Promise<Target>,
): Promise<Slot> {
  try {
    const t = await start();
    await sanityCheck(t);
    return t;
  } catch (error) {
    const why = error instanceof Error ? error.message.split('\n')[0]! : String(error);
    ctx.log(`  ${subject}: not measured: ${why}`);
    if (!(error instanceof Unavailable)) ctx.log(String(error));
    return { subject, why };
  }
}

const streamed = (t: Target): TimedRequest => ({
  url: t.url,
  headers: t.headers,
  body: STREAM_BODY,
  sse: true,
});
const plain = (t: Target): TimedRequest => ({
  url: t.url,
  headers: t.headers,
  body: BODY,
  sse: false,
});

function loadOf(t: Target, connections: number, durationSeconds: number): LoadOptions {
  return {
    url: t.url,
    method: 'POST',
    body: BODY,
    headers: t.headers,
    connections,
    durationSeconds,
  };
}

async function measureThroughput(ctx: BenchContext, t: Target): Promise<LoadResult> {
  const before = processCpuMs(t.pid);
  const result = await ctx.load.run(loadOf(t, ctx.settings.connections, ctx.settings.runSeconds));
  const after = processCpuMs(t.pid);
  if (before !== null && after !== null && result.requests > 0) {
    t.cpuPerRequest.push(((after - before) * 1000) / result.requests);
  }
  return result;
}

/**
 * Streamed (and then non-streamed) requests per target per round. A stream takes ~20 ms (the
 * mock's chunk gaps), ~45 ms through Portkey: 100 keeps a full run's five rounds under a minute.
 */
function streamsPerRound(s: Settings): number {
  return s.quick ? 10 : 100;
}

async function measure(ctx: BenchContext, targets: readonly Target[]): Promise<void> {
  const s = ctx.settings;
  for (const t of targets) {
    ctx.log(`  warm-up ${t.subject}: ${s.warmupSeconds} s`);
    await ctx.load.run(loadOf(t, s.connections, s.warmupSeconds));
    await timesToFirstChunk(streamed(t), 5);
    await timesToFirstChunk(plain(t), 5);
  }
  for (let run = 1; run <= s.runs; run++) {
    for (const t of targets) {
      const r = await measureThroughput(ctx, t);
      t.throughput.push(r);
      ctx.log(
        `  run ${run}/${s.runs} ${t.subject}, ${s.connections} conns: ${Math.round(r.requestsPerSecond)} req/s, ${t.cpuPerRequest.at(-1)?.toFixed(1) ?? '?'} µs CPU/req`,
      );
    }
  }
  for (let run = 1; run <= s.floorRuns; run++) {
    for (const t of targets) {
      const r = await ctx.load.run(loadOf(t, 1, s.floorSeconds));
      t.latency.push(r);
      ctx.log(
        `  run ${run}/${s.floorRuns} ${t.subject}, 1 conn: p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms`,
      );
    }
  }
  const count = streamsPerRound(s);
  for (let round = 1; round <= s.runs; round++) {
    for (const t of targets) {
      const times = await timesToFirstChunk(streamed(t), count);
      t.firstChunkP50.push(percentile(times, 50));
      t.firstChunkP99.push(percentile(times, 99));
      t.firstBytePlainP50.push(percentile(await timesToFirstChunk(plain(t), count), 50));
      ctx.log(
        `  round ${round}/${s.runs} ${t.subject}, ${count} streams: first chunk p50 ${t.firstChunkP50.at(-1)!.toFixed(2)} ms, p99 ${t.firstChunkP99.at(-1)!.toFixed(2)} ms; non-streamed first byte p50 ${t.firstBytePlainP50.at(-1)!.toFixed(2)} ms`,
      );
    }
  }
}

function problems(results: readonly LoadResult[]): string | undefined {
  const non2xx = results.reduce((n, r) => n + r.non2xx, 0);
  const errors = results.reduce((n, r) => n + r.errors, 0);
  return non2xx + errors > 0 ? `${non2xx} non-2xx, ${errors} socket errors` : undefined;
}

/** `a[i] − b[i]`: each run of a gateway against the direct run right before it. */
function paired(a: readonly number[], b: readonly number[]): number[] {
  return a.map((value, i) => value - b[i]!);
}

function withTarget(row: Row, label: string, met: boolean): Row {
  return { ...row, target: { ...row.target, label, met } };
}

function rows(slots: readonly Slot[], s: Settings, latencyResolutionMs: number): Row[] {
  const [direct, kw, portkey] = slots as [Target, Slot, Slot];
  const present = slots.filter((slot): slot is Target => !isMissing(slot));
  const missing = slots.filter(isMissing);
  const coarse = latencyResolutionMs >= 1 ? `${latencyResolutionMs} ms steps` : undefined;
  const row = (
    t: Target,
    metric: string,
    unit: Row['unit'],
    values: number[],
    note?: string,
  ): Row => ({
    scenario: TITLE,
    subject: t.subject,
    metric,
    unit,
    stats: summarize(values),
    ...(note ? { note } : {}),
  });
  /** One row per present target, the gateways compared with the direct path. */
  const perTarget = (make: (t: Target) => Row): Row[] => {
    const base = make(direct);
    return [base, ...present.slice(1).map((t) => compared(make(t), base))];
  };
  /** A gateway's figure minus the direct one, run by run; a target when one is given. */
  const added = (
    t: Slot,
    metric: string,
    pick: (t: Target) => number[],
    target?: { label: string; bound: number },
    note = 'minus direct, pair by pair',
  ): Row[] => {
    if (isMissing(t)) return [];
    const r = row(t, metric, 'ms', paired(pick(t), pick(direct)), note);
    return [target ? withTarget(r, target.label, r.stats.median <= target.bound) : r];
  };
  const throughputMetric = `throughput, ${s.connections} conns`;
  const throughput = (t: Target) =>
    row(
      t,
      throughputMetric,
      'req/s',
      t.throughput.map((r) => r.requestsPerSecond),
      [problems([...t.throughput, ...t.latency]), t.meteredNote].filter(Boolean).join('; '),
    );

  const out: Row[] = [...perTarget(throughput)];
  // keywarden against Portkey: the issue's throughput target.
  if (!isMissing(kw) && !isMissing(portkey)) {
    const { note: _, ...kwThroughput } = throughput(kw);
    const r = compared(
      { ...kwThroughput, metric: `${throughputMetric}, against Portkey` },
      throughput(portkey),
      1,
    );
    out.push(withTarget(r, '≥ Portkey', r.target?.met ?? false));
  } else {
    out.push(
      notMeasured(
        {
          scenario: TITLE,
          subject: KW,
          metric: `${throughputMetric}, against Portkey`,
          unit: 'req/s',
        },
        `${missing.map((m) => m.subject).join(' and ')} missing`,
      ),
    );
  }
  for (const m of missing) {
    out.push(
      notMeasured(
        { scenario: TITLE, subject: m.subject, metric: 'every figure', unit: 'ms' },
        m.why,
      ),
    );
  }
  // Read from /proc: absent elsewhere, and then absent for every target alike.
  if (direct.cpuPerRequest.length > 0) {
    out.push(
      ...perTarget((t) =>
        row(
          t,
          `server CPU per request, ${s.connections} conns`,
          'µs',
          t.cpuPerRequest,
          t === direct ? 'the mock itself' : 'the gateway process, mock excluded',
        ),
      ),
    );
  }
  const p50 = (t: Target) => t.latency.map((r) => r.p50Ms);
  const p99 = (t: Target) => t.latency.map((r) => r.p99Ms);
  // A difference of whole milliseconds (autocannon) cannot tell 0.3 ms from 1 ms: no verdict.
  const bound = (ms: number) => (coarse ? undefined : { label: `≤ ${ms} ms`, bound: ms });
  const addedNote = coarse ? `minus direct, pair by pair; ${coarse}` : undefined;
  out.push(
    ...perTarget((t) => row(t, 'p50 latency, 1 conn', 'ms', p50(t), coarse)),
    ...perTarget((t) => row(t, 'p99 latency, 1 conn', 'ms', p99(t), coarse)),
    ...added(kw, 'added p50 latency, 1 conn', p50, bound(ADDED_P50_MS), addedNote),
    ...added(portkey, 'added p50 latency, 1 conn', p50, undefined, addedNote),
    ...added(kw, 'added p99 latency, 1 conn', p99, bound(ADDED_P99_MS), addedNote),
    ...added(portkey, 'added p99 latency, 1 conn', p99, undefined, addedNote),
  );
  const count = streamsPerRound(s);
  const ttfb50 = (t: Target) => t.firstChunkP50;
  const ttfb99 = (t: Target) => t.firstChunkP99;
  const plain50 = (t: Target) => t.firstBytePlainP50;
  // What streaming adds beyond what the gateway adds to any request, both taken by the same
  // client in the same round: (gateway − direct) for the first chunk of a stream, minus
  // (gateway − direct) for the first byte of a non-streamed answer. The client's own cost
  // (node:http, sequential) cancels out, which an absolute "added first chunk" would not do.
  const streamDelay = (t: Target) => paired(ttfb50(t), plain50(t));
  const streamNote = 'added first chunk minus added first byte of a non-streamed answer';
  out.push(
    ...perTarget((t) =>
      row(t, `first streamed chunk p50, ${count} streams/round`, 'ms', ttfb50(t)),
    ),
    ...perTarget((t) =>
      row(t, `first streamed chunk p99, ${count} streams/round`, 'ms', ttfb99(t)),
    ),
    ...perTarget((t) =>
      row(t, `first byte of a non-streamed answer p50, same client`, 'ms', plain50(t)),
    ),
    ...added(kw, 'added first-chunk p50', ttfb50),
    ...added(portkey, 'added first-chunk p50', ttfb50),
    ...added(
      kw,
      'delay a stream adds before its first chunk, p50',
      streamDelay,
      { label: `no added delay (≤ ${STREAM_DELAY_MS} ms)`, bound: STREAM_DELAY_MS },
      streamNote,
    ),
    ...added(
      portkey,
      'delay a stream adds before its first chunk, p50',
      streamDelay,
      undefined,
      streamNote,
    ),
  );
  return out;
}

export const gateway: Scenario = {
  id: 'gateway',
  title: TITLE,
  async run(ctx) {
    const started: RunningTarget[] = [];
    try {
      ctx.log(`${TITLE}: starting the mock upstream`);
      // The secret the gateways inject; the mock refuses any other.
      const upstreamSecret = `sk-bench-${randomBytes(16).toString('hex')}`;
      const mock = await startMockUpstream(upstreamSecret, CHUNK_DELAY_MS, ctx.profileDir);
      started.push(mock);
      const direct = target(
        DIRECT,
        `${mock.url}/v1/chat/completions`,
        { authorization: `Bearer ${upstreamSecret}` },
        mock.pid,
      );
      await sanityCheck(direct);

      const install = findPortkey();
      const portkeySubject = `Portkey OSS gateway${install ? ` ${install.version}` : ''} (no auth)`;
      // Both at once: each takes a second or two to start, and nothing is measured yet.
      ctx.log(`${TITLE}: starting keywarden and the Portkey gateway`);
      const keywardenSlot = setUp(ctx, KW, async () => {
        const server = await startManagedKeywarden(ctx.profileDir);
        started.push(server);
        const { key, keyId } = await configureKeywarden(server, mock.url, upstreamSecret);
        return {
          ...target(
            KW,
            `${server.url}/gw/${UPSTREAM}/v1/chat/completions`,
            { authorization: `Bearer ${key}` },
            server.pid,
          ),
          metered: () => meteredByKeywarden(server, keyId),
        };
      });
      const portkeySlot = setUp(ctx, portkeySubject, async () => {
        if (!install) throw new Unavailable('@portkey-ai/gateway is not installed (npm install)');
        const server = await startPortkey(install, ctx.profileDir);
        started.push(server);
        return target(
          portkeySubject,
          `${server.url}/v1/chat/completions`,
          {
            'x-portkey-provider': 'openai',
            'x-portkey-custom-host': `${mock.url}/v1`,
            authorization: `Bearer ${upstreamSecret}`,
          },
          server.pid,
        );
      });

      const slots: Slot[] = [direct, ...(await Promise.all([keywardenSlot, portkeySlot]))];
      const present = slots.filter((slot): slot is Target => !isMissing(slot));
      await measure(ctx, present);
      for (const t of present) {
        if (t.metered) {
          t.meteredNote = await t.metered();
          ctx.log(`  ${t.subject}: ${t.meteredNote}`);
        }
      }
      return rows(slots, ctx.settings, ctx.load.latencyResolutionMs);
    } finally {
      await Promise.all(started.map((server) => server.stop()));
    }
  },
};
