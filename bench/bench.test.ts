import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAutocannonJson } from './lib/autocannon.ts';
import { parseProcStat } from './lib/cpu.ts';
import { formatNumber, renderTable } from './lib/format.ts';
import { parseCpuLine } from './lib/machine.ts';
import { nodeVersionOf, rerunUnderRequestedNode, withoutNodeFlag } from './lib/node.ts';
import { summarizeProfile } from './lib/profile.ts';
import { median, percentile, ratio, summarize } from './lib/stats.ts';
import { compared, notMeasured, type Row } from './lib/types.ts';
import { luaLongString, parseWrkDuration, parseWrkOutput, requestScript } from './lib/wrk.ts';

/**
 * The bench's pure helpers on known inputs, with exact expected values. Nothing here is
 * timed: benchmarks are not tests, and a timing assertion on a shared 2-core machine would
 * only teach people to ignore red builds.
 */

describe('stats', () => {
  it('median of odd and even counts, whatever the order', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(median([7]), 7);
  });

  it('percentile interpolates linearly between ranks (R-7)', () => {
    const oneTo100 = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(percentile(oneTo100, 0), 1);
    assert.equal(percentile(oneTo100, 100), 100);
    assert.equal(percentile(oneTo100, 50), 50.5);
    assert.equal(percentile([10, 20, 30, 40, 50], 25), 20);
    assert.equal(percentile([10, 20, 30, 40, 50], 90), 46);
    assert.equal(percentile([1, 2], 75), 1.75);
    // 99th of 1..100: rank 0.99 × 99 = 98.01 → 99 + 0.01 × (100 − 99).
    assert.ok(Math.abs(percentile(oneTo100, 99) - 99.01) < 1e-9);
  });

  it('does not reorder its input', () => {
    const values = [3, 1, 2];
    median(values);
    assert.deepEqual(values, [3, 1, 2]);
  });

  it('rejects what has no answer', () => {
    assert.throws(() => median([]), RangeError);
    assert.throws(() => percentile([1], 101), RangeError);
    assert.throws(() => percentile([1, Number.NaN], 50), RangeError);
    assert.throws(() => ratio(1, 0), RangeError);
  });

  it('spread of a negative median (a difference) is still positive', () => {
    assert.equal(summarize([-2, -1, 0]).spreadPct, 200);
  });

  it('summarize gives the median, the range and the spread', () => {
    assert.deepEqual(summarize([90, 110, 100, 105, 95]), {
      median: 100,
      min: 90,
      max: 110,
      spreadPct: 20,
      n: 5,
    });
    assert.equal(ratio(7, 10), 0.7);
  });
});

describe('rows and table', () => {
  const base: Row = {
    scenario: 's',
    subject: 'floor',
    metric: 'calls/s',
    unit: 'ops/s',
    stats: summarize([1000, 1000]),
  };

  it('compared() computes the ratio and checks the target inclusively', () => {
    const met = compared({ ...base, subject: 'x', stats: summarize([700]) }, base, 0.7);
    assert.deepEqual(met.baseline, { subject: 'floor', ratio: 0.7 });
    assert.deepEqual(met.target, { minRatio: 0.7, met: true });
    const missed = compared({ ...base, subject: 'y', stats: summarize([699]) }, base, 0.7);
    assert.equal(missed.target?.met, false);
    assert.equal(compared(base, base).target, undefined);
    // A latency below the tool's resolution reads 0: no ratio, no verdict.
    const zero = { ...base, stats: summarize([0]) };
    assert.deepEqual(compared(base, zero, 0.7), base);
  });

  it('prints a bound that is not a ratio, and a row that could not be measured', () => {
    const added = { ...base, subject: 'gw', metric: 'added p50', unit: 'ms' as const };
    const met = { ...added, stats: summarize([0.4]), target: { label: '≤ 1 ms', met: true } };
    const missing = notMeasured(added, 'no gateway yet');
    assert.deepEqual(compared(missing, base, 1), missing);
    assert.equal(compared({ ...base, subject: 'x' }, missing).baseline, undefined);
    const table = renderTable([met, missing]).split('\n');
    assert.equal(
      table[2],
      '| s | gw | added p50 | 0.400 ms | 0.400–0.400 (±0.0%, n=1) | — | ≤ 1 ms: met |',
    );
    assert.equal(table[3], '| s | gw | added p50 (not measured: no gateway yet) | — | — | — | — |');
  });

  it('formats figures to three significant digits', () => {
    assert.equal(formatNumber(19447.69, 'req/s'), '19.4k');
    assert.equal(formatNumber(9422, 'req/s'), '9.42k');
    assert.equal(formatNumber(1_470_000, 'ops/s'), '1.47M');
    assert.equal(formatNumber(528, 'req/s'), '528');
    assert.equal(formatNumber(0.061, 'ms'), '0.061');
    assert.equal(formatNumber(2.434, 'ms'), '2.43');
    assert.equal(formatNumber(14.36, 'ms'), '14.4');
  });

  it('renders a markdown table with ratio and verdict', () => {
    const row = compared({ ...base, subject: 'x', stats: summarize([500, 520]) }, base, 0.5);
    const table = renderTable([base, row]).split('\n');
    assert.equal(table.length, 4);
    assert.equal(
      table[3],
      '| s | x | calls/s | 510 ops/s | 500–520 (±2.0%, n=2) | 0.51× floor | ≥ 0.50×: met |',
    );
  });
});

const WRK_OUTPUT = `Running 5s test @ http://127.0.0.1:8080/v1/auth
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.65ms  232.36us   9.12ms   91.44%
    Req/Sec    19.55k     1.05k   20.79k    86.00%
  Latency Distribution
     50%    1.61ms
     75%    1.71ms
     90%    1.85ms
     99%    2.43ms
  97273 requests in 5.00s, 7.14MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 12
Requests/sec:  19447.69
Transfer/sec:      1.43MB
`;

describe('load generator output', () => {
  it('reads wrk durations in every unit', () => {
    assert.equal(parseWrkDuration('61.00us'), 0.061);
    assert.equal(parseWrkDuration('26.00us'), 0.026);
    assert.equal(parseWrkDuration('1.61ms'), 1.61);
    assert.equal(parseWrkDuration('2.00s'), 2000);
    assert.throws(() => parseWrkDuration('fast'));
  });

  it('parses wrk --latency output', () => {
    assert.deepEqual(parseWrkOutput(WRK_OUTPUT), {
      requestsPerSecond: 19447.69,
      p50Ms: 1.61,
      p99Ms: 2.43,
      requests: 97273,
      non2xx: 12,
      errors: 3,
    });
  });

  it('holds any request body exactly in a Lua long string', () => {
    assert.equal(luaLongString('{"a":1}'), '[[\n{"a":1}]]');
    // A body that closes the plain and level-1 brackets gets level 2; a leading newline
    // survives (Lua drops only the one right after the opening bracket).
    assert.equal(luaLongString('\nx]]y]=]'), '[==[\n\nx]]y]=]]==]');
    assert.equal(requestScript('POST', '{}'), 'wrk.method = [[\nPOST]]\nwrk.body = [[\n{}]]\n');
    assert.equal(requestScript('GET', undefined), 'wrk.method = [[\nGET]]\n');
  });

  it('refuses wrk output without the latency distribution', () => {
    assert.throws(() => parseWrkOutput('Requests/sec: 100\n'), /unexpected output/);
  });

  it('parses autocannon --json output', () => {
    const json = JSON.stringify({
      requests: { average: 12000.5, total: 60002 },
      latency: { p50: 2, p99: 7 },
      non2xx: 0,
      errors: 1,
      timeouts: 2,
    });
    assert.deepEqual(parseAutocannonJson(json), {
      requestsPerSecond: 12000.5,
      p50Ms: 2,
      p99Ms: 7,
      requests: 60002,
      non2xx: 0,
      errors: 3,
    });
  });
});

describe('process figures', () => {
  it('reads utime + stime from /proc/<pid>/stat, even with spaces in the name', () => {
    const fields = ['S', ...Array.from({ length: 10 }, () => '0'), '150', '50', '0', '0'];
    const stat = `1234 (node (tsx) x) ${fields.join(' ')}`;
    assert.equal(parseProcStat(stat, 100), 2000);
  });

  it('reads busy and total jiffies from /proc/stat', () => {
    // user nice system idle iowait irq softirq steal guest guest_nice
    const stat = 'cpu  100 5 50 800 20 3 2 0 7 0\ncpu0 50 2 25 400 10 1 1 0 0 0\n';
    assert.deepEqual(parseCpuLine(stat), [160, 980]);
    assert.throws(() => parseCpuLine('intr 1 2 3'));
  });

  it('ranks profile frames by self time, idle excluded', () => {
    const frame = (functionName: string, url = '') => ({ functionName, url, lineNumber: 9 });
    const summary = summarizeProfile(
      {
        nodes: [
          { id: 1, callFrame: frame('(idle)'), hitCount: 50 },
          { id: 2, callFrame: frame('hash', 'file:///repo/src/a.ts'), hitCount: 30 },
          { id: 3, callFrame: frame('hash', 'file:///repo/src/a.ts'), hitCount: 10 },
          { id: 4, callFrame: frame('(garbage collector)'), hitCount: 10 },
        ],
      },
      '/repo',
    );
    assert.equal(summary.busySamples, 50);
    assert.equal(summary.busyPct, 50);
    assert.deepEqual(summary.frames, [
      { name: 'hash src/a.ts:10', selfPct: 80 },
      { name: '(garbage collector)', selfPct: 20 },
    ]);
  });
});

describe('--node', () => {
  it('drops the flag in both spellings and keeps every other argument', () => {
    assert.deepEqual(withoutNodeFlag(['--quick', '--node', '/opt/node24/bin/node', '--json']), [
      '--quick',
      '--json',
    ]);
    assert.deepEqual(withoutNodeFlag(['--node=/x/node', '--only', 'gateway']), [
      '--only',
      'gateway',
    ]);
  });

  it('runs in this process when the Node asked for is this one, or none is', () => {
    assert.equal(rerunUnderRequestedNode(undefined, 'bench/run.ts', '.'), null);
    assert.equal(rerunUnderRequestedNode(process.execPath, 'bench/run.ts', '.'), null);
  });

  it('refuses a binary that is not a Node, naming it', () => {
    assert.throws(
      () => rerunUnderRequestedNode('/bin/false', 'bench/run.ts', '.'),
      /--node \/bin\/false: not a Node\.js binary/,
    );
  });

  it('reads the version a Node binary reports', () => {
    assert.equal(nodeVersionOf(process.execPath), process.version);
  });
});

// End to end, opt-in (BENCH_SMOKE=1): a minute or more and two busy cores do not belong in
// every test run. It checks that the quick run completes and prints every row, never how
// fast anything was.
describe('npm run bench -- --quick', { skip: process.env.BENCH_SMOKE !== '1' }, () => {
  it('runs every scenario and prints the table', { timeout: 150_000 }, () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--quick'], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      encoding: 'utf8',
      timeout: 145_000,
    });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /\| in-process verify \| verify, cached valid key \|/);
    assert.match(result.stdout, /\| forward-auth HTTP \| keywarden GET \/v1\/auth \| throughput/);
    // The gateway through keywarden, measured and metered; Portkey may be absent (its rows
    // then say why), and nothing here depends on how fast it is.
    assert.match(
      result.stdout,
      /\| gateway \(OpenAI-compatible\) \| keywarden \/gw [^|]*\| throughput, 32 conns \(metered [1-9]/,
    );
    assert.doesNotMatch(result.stdout, /non-2xx/);
  });
});
