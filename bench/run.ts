import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { installCleanupHandlers, keepTempDir, makeTempDir } from './lib/cleanup.ts';
import { formatNumber, renderTable } from './lib/format.ts';
import { detectLoadTool } from './lib/load.ts';
import { cpuBusyPct, describeMachine, waitForIdle } from './lib/machine.ts';
import { nodeVersionOf, rerunUnderRequestedNode } from './lib/node.ts';
import { busiestProfile } from './lib/profile.ts';
import { REPO_ROOT } from './lib/servers.ts';
import type { BenchContext, Row, Scenario, Settings } from './lib/types.ts';
import { cluster } from './scenarios/cluster.ts';
import { forwardAuth } from './scenarios/forward-auth.ts';
import { gateway } from './scenarios/gateway.ts';
import { keyGuessing } from './scenarios/key-guessing.ts';
import { limitsAndUsage } from './scenarios/limits-usage.ts';
import { scanner } from './scenarios/scanner.ts';
import { verifyInProcess } from './scenarios/verify-in-process.ts';

/**
 * `npm run bench [-- --quick] [--json] [--only <id>] [--load wrk|autocannon] [--profile]
 *                  [--wait-idle] [--node PATH]`
 *
 * Runs every scenario in order and prints one markdown table on stdout (progress on stderr).
 * In-process scenarios come first, while no server or load generator is running. To add a
 * comparison, write a module in scenarios/ that returns rows and list it here.
 */
const SCENARIOS: readonly Scenario[] = [
  verifyInProcess,
  keyGuessing,
  limitsAndUsage,
  scanner,
  forwardAuth,
  gateway,
  cluster,
];

const FULL: Settings = {
  quick: false,
  rounds: 5,
  roundMs: 1000,
  warmupMs: 1000,
  connections: 32,
  runSeconds: 5,
  runs: 5,
  warmupSeconds: 3,
  floorRuns: 3,
  floorSeconds: 2,
};

/** Enough to prove every path works end to end (the smoke test's budget), not to quote. */
const QUICK: Settings = {
  quick: true,
  rounds: 3,
  roundMs: 200,
  warmupMs: 200,
  connections: 32,
  runSeconds: 1,
  runs: 2,
  warmupSeconds: 1,
  floorRuns: 1,
  floorSeconds: 1,
};

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    only: { type: 'string', multiple: true },
    load: { type: 'string' },
    profile: { type: 'boolean', default: false },
    'wait-idle': { type: 'boolean', default: false },
    /** Run the bench and every process it starts on this Node (else KEYWARDEN_BENCH_NODE). */
    node: { type: 'string' },
  },
});

/** Which code was measured: the commit, and whether packages/ had uncommitted changes. */
function revision(): string {
  const git = (...args: string[]) =>
    spawnSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8', timeout: 5000 }).stdout?.trim() ??
    '';
  const head = git('rev-parse', '--short', 'HEAD') || 'unknown commit';
  return git('status', '--porcelain', '--', 'packages')
    ? `${head} + uncommitted changes in packages/`
    : head;
}

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

async function main(): Promise<void> {
  const requestedNode = flags.node ?? process.env.KEYWARDEN_BENCH_NODE;
  const rerun = rerunUnderRequestedNode(requestedNode, 'bench/run.ts', REPO_ROOT);
  if (rerun !== null) {
    process.exitCode = rerun;
    return;
  }
  installCleanupHandlers();
  if (flags.load !== undefined && flags.load !== 'wrk' && flags.load !== 'autocannon') {
    throw new Error('--load must be wrk or autocannon');
  }
  const scenarios = flags.only ? SCENARIOS.filter((s) => flags.only?.includes(s.id)) : SCENARIOS;
  if (scenarios.length === 0) {
    throw new Error(`--only: no such scenario (known: ${SCENARIOS.map((s) => s.id).join(', ')})`);
  }
  const settings = flags.quick ? QUICK : FULL;
  const profileDir = flags.profile ? makeTempDir('profiles') : undefined;
  if (profileDir) keepTempDir(profileDir);
  const ctx: BenchContext = {
    settings,
    load: detectLoadTool(flags.load as 'wrk' | 'autocannon' | undefined, log),
    profileDir,
    log,
  };

  const code = revision();
  const machine = `${describeMachine()}; Node ${nodeVersionOf(process.execPath)}`;
  log(`keywarden bench${settings.quick ? ' (--quick: smoke run, do not quote)' : ''}`);
  log(`code: ${code}; machine: ${machine}`);
  // Measured over a second before anything starts, so it is other processes' load, not ours.
  const busy = flags['wait-idle'] ? await waitForIdle(10, 5 * 60_000, log) : await cpuBusyPct();
  const busyText = busy === null ? 'unknown' : `${busy.toFixed(0)}%`;
  if (busy !== null && busy >= 10) {
    log(`warning: the machine is ${busyText} busy before the bench; figures will be noisy`);
  }

  const started = Date.now();
  const rows: Row[] = [];
  for (const scenario of scenarios) rows.push(...(await scenario.run(ctx)));
  const seconds = (Date.now() - started) / 1000;

  const s = settings;
  const method = [
    `- Code: ${code}. Machine: ${machine}. CPU busy before start (other processes): ${busyText}.`,
    `- In-process: one caller, ${s.warmupMs} ms warm-up per subject, then ${s.rounds} interleaved rounds of ${s.roundMs} ms.`,
    `- HTTP: ${ctx.load.description}; servers in separate processes on 127.0.0.1; ${s.warmupSeconds} s warm-up per target, then ${s.runs} alternating runs of ${s.runSeconds} s at ${s.connections} connections and ${s.floorRuns} of ${s.floorSeconds} s at 1 connection.`,
    '- Median over rounds/runs; spread is ±half the min–max range; ratio = median / baseline median.',
  ];
  process.stdout.write(`\n${method.join('\n')}\n\n${renderTable(rows)}\n\n`);
  const targets = rows.filter((r) => r.target);
  for (const row of targets) {
    const { met, minRatio, label } = row.target!;
    const verdict = met ? 'met' : 'MISSED';
    const line =
      minRatio !== undefined && row.baseline
        ? `${row.subject} at ${row.baseline.ratio.toFixed(2)}× ${row.baseline.subject} (target ≥ ${minRatio.toFixed(2)}×)`
        : `${row.subject}, ${row.metric}: ${formatNumber(row.stats.median, row.unit)} ${row.unit} (target ${label ?? '?'})`;
    process.stdout.write(`Target ${verdict}: ${line}\n`);
  }
  log(`\nfinished in ${seconds.toFixed(0)} s`);

  if (profileDir) {
    for (const server of readdirSync(profileDir).sort()) {
      const summary = busiestProfile(join(profileDir, server), REPO_ROOT);
      if (!summary) continue;
      process.stdout.write(
        `\nTop self time in ${server} (busy ${summary.busyPct.toFixed(0)}% of the run; shares of busy samples):\n`,
      );
      for (const f of summary.frames) {
        process.stdout.write(`  ${f.selfPct.toFixed(1).padStart(5)}%  ${f.name}\n`);
      }
    }
    process.stdout.write(`\nProfiles kept in ${profileDir} (open them in Chrome DevTools).\n`);
  }
  if (flags.json) {
    // Results are not committed: they belong to one machine on one day.
    const dir = join(tmpdir(), 'keywarden-bench');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'latest.json');
    const meta = {
      code,
      machine,
      busyBeforeStartPct: busy,
      loadTool: ctx.load.description,
      settings,
      at: new Date().toISOString(),
      seconds,
    };
    writeFileSync(file, `${JSON.stringify({ meta, rows }, null, 2)}\n`);
    log(`results written to ${file}`);
  }
}

try {
  await main();
} catch (error) {
  log(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
}
