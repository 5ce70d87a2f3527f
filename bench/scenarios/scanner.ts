import { writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runScan } from '../../packages/server/src/scanner/index.ts';
import {
  type Corpus,
  generateCorpus,
  PLANTED_KINDS,
  type PlantedSecret,
} from '../../packages/server/src/scanner/testing/corpus.ts';
import { makeTempDir } from '../lib/cleanup.ts';
import { runCommand } from '../lib/proc.ts';
import { REPO_ROOT } from '../lib/servers.ts';
import { summarize } from '../lib/stats.ts';
import { type BenchContext, compared, type Row, type Scenario } from '../lib/types.ts';

/**
 * `keywarden scan` against secretlint 12.0.0 with its recommended preset, on the same
 * generated corpus on disk (~10 MB of source, config and data in eight formats, with secrets
 * of every kind keywarden detects planted at known lines, and noise that must not match).
 * Throughput is MB/s of the scan itself (process start-up and config loading excluded for
 * both); recall is counted per secret kind against the planted list. Target: keywarden at
 * least as fast as secretlint with its profiler switched off.
 *
 * secretlint's profiler makes it quadratic in the number of files (PEERS.md). It is measured
 * twice: with a preload that turns the profiler off (its real speed, on the whole corpus),
 * and as installed on a 1 MB slice only, since on 10 MB it would run for minutes.
 */

const TITLE = 'secret scan';
const KW = 'keywarden scan';
const SL = 'secretlint 12 (recommended), profiler off';
const SL_INSTALLED = 'secretlint 12 (recommended), as installed';
const TARGET = 1;
const RUNNER = fileURLToPath(new URL('./secretlint-runner.ts', import.meta.url));
const NO_PROFILER = fileURLToPath(new URL('./secretlint-no-profiler.mjs', import.meta.url));

interface Hit {
  file: string;
  startLine: number;
  endLine: number;
  /** The rule or kind that reported it. */
  rule: string;
}

interface Recall {
  found: Map<string, number>;
  total: Map<string, number>;
  /** Hits on no planted secret, by rule. */
  falsePositives: Map<string, number>;
}

function recallOf(planted: readonly PlantedSecret[], hits: readonly Hit[]): Recall {
  const byFile = new Map<string, Hit[]>();
  for (const hit of hits) byFile.set(hit.file, [...(byFile.get(hit.file) ?? []), hit]);
  const found = new Map<string, number>();
  const total = new Map<string, number>();
  const matched = new Set<Hit>();
  for (const p of planted) {
    total.set(p.kind, (total.get(p.kind) ?? 0) + 1);
    const hit = byFile.get(p.file)?.find((h) => h.startLine <= p.line && p.line <= h.endLine);
    if (hit) {
      matched.add(hit);
      found.set(p.kind, (found.get(p.kind) ?? 0) + 1);
    }
  }
  const falsePositives = new Map<string, number>();
  for (const hit of hits) {
    if (!matched.has(hit)) falsePositives.set(hit.rule, (falsePositives.get(hit.rule) ?? 0) + 1);
  }
  return { found, total, falsePositives };
}

function describeRecall(recall: Recall): string {
  const found = [...recall.found.values()].reduce((a, b) => a + b, 0);
  const total = [...recall.total.values()].reduce((a, b) => a + b, 0);
  const partial = PLANTED_KINDS.filter(
    (k) => (recall.found.get(k) ?? 0) < (recall.total.get(k) ?? 0),
  )
    .map((k) => `${k} ${recall.found.get(k) ?? 0}/${recall.total.get(k)}`)
    .join(', ');
  const fpTotal = [...recall.falsePositives.values()].reduce((a, b) => a + b, 0);
  const fpRules = [...recall.falsePositives].map(([rule, n]) => `${rule} ${n}`).join(', ');
  return `recall ${((100 * found) / total).toFixed(0)}% (${found}/${total})${partial ? `; below 100%: ${partial}` : ', every kind 100%'}; ${fpTotal} false positives${fpTotal ? ` (${fpRules})` : ''}`;
}

function recallTable(recalls: ReadonlyArray<[string, Recall]>): string {
  const lines = [`| kind | ${recalls.map(([name]) => name).join(' | ')} |`];
  lines.push(`|---|${recalls.map(() => '---').join('|')}|`);
  for (const kind of PLANTED_KINDS) {
    const cells = recalls.map(([, r]) => `${r.found.get(kind) ?? 0}/${r.total.get(kind) ?? 0}`);
    lines.push(`| ${kind} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

async function writeCorpus(root: string, corpus: Corpus): Promise<void> {
  for (const file of corpus.files) {
    const path = join(root, file.path);
    await mkdir(dirname(path), { recursive: true });
    writeFileSync(path, file.text);
  }
}

async function runSecretlint(
  files: readonly string[],
  listFile: string,
  withProfiler: boolean,
  timeoutMs: number,
): Promise<{ seconds: number; hits: Hit[] }> {
  writeFileSync(listFile, JSON.stringify(files));
  const preload = withProfiler ? [] : ['--import', NO_PROFILER];
  const result = await runCommand(
    process.execPath,
    ['--import', 'tsx', ...preload, RUNNER, listFile],
    { timeoutMs, cwd: REPO_ROOT },
  );
  const line = result.stdout.trim().split('\n').pop() ?? '';
  if (result.code !== 0 || !line.startsWith('{')) {
    throw new Error(`secretlint runner failed (${result.code}): ${result.stderr.slice(-1000)}`);
  }
  return JSON.parse(line) as { seconds: number; hits: Hit[] };
}

export const scanner: Scenario = {
  id: 'scan',
  title: TITLE,
  async run(ctx: BenchContext): Promise<Row[]> {
    const quick = ctx.settings.quick;
    const targetBytes = quick ? 2_000_000 : 10_000_000;
    const sliceBytes = quick ? 256 * 1024 : 1024 * 1024;
    const root = makeTempDir('scan');
    const lists = makeTempDir('scan-lists');
    // 8 KB files, about the size of a source file: secretlint's cost grows with their number.
    const corpus = generateCorpus({
      seed: 2024,
      targetBytes,
      secretsPerKind: quick ? 4 : 20,
      fileBytes: 8 * 1024,
    });
    await writeCorpus(root, corpus);
    const bytes = corpus.files.reduce((n, f) => n + Buffer.byteLength(f.text), 0);
    const mb = bytes / (1024 * 1024);
    ctx.log(
      `${TITLE}: ${corpus.files.length} files, ${mb.toFixed(1)} MB, ${corpus.planted.length} planted secrets of ${PLANTED_KINDS.length} kinds`,
    );

    // keywarden, in process: the whole `runScan` path (walk, .gitignore, read, detect, report).
    const discard = () => {};
    const scanOnce = () =>
      runScan(
        { paths: ['.'], format: 'json' },
        { cwd: root, stdout: discard, stderr: discard, readStdin: async () => '' },
      );
    const warm = await scanOnce();
    const kwRecall = recallOf(
      corpus.planted,
      warm.findings.map((f) => ({
        file: f.file,
        startLine: f.line,
        endLine: f.endLine,
        rule: f.kind,
      })),
    );

    // Rounds of keywarden and runs of secretlint (profiler off, whole corpus) alternate, so
    // that a noisy phase of the machine hits both alike.
    const absolute = corpus.files.map((f) => join(root, f.path));
    const slRuns = quick ? 1 : 3;
    const rates: number[] = [];
    const slRates: number[] = [];
    let slHits: Hit[] = [];
    for (let i = 0; i < Math.max(ctx.settings.rounds, slRuns); i++) {
      if (i < ctx.settings.rounds) {
        const started = performance.now();
        await scanOnce();
        rates.push(mb / ((performance.now() - started) / 1000));
      }
      if (i < slRuns) {
        const run = await runSecretlint(absolute, join(lists, 'all.json'), false, 120_000);
        slRates.push(mb / run.seconds);
        slHits = run.hits.map((h) => ({
          ...h,
          file: relative(root, h.file).split('\\').join('/'),
          rule: h.rule.replace('@secretlint/secretlint-rule-', ''),
        }));
      }
    }
    const slRecall = recallOf(corpus.planted, slHits);

    // secretlint as installed: the whole corpus if it finishes in time, else a slice.
    let installedRow: Row;
    const installedLimitMs = quick ? 20_000 : 40_000;
    try {
      const run = await runSecretlint(absolute, join(lists, 'all.json'), true, installedLimitMs);
      installedRow = {
        scenario: TITLE,
        subject: SL_INSTALLED,
        metric: `throughput, ${mb.toFixed(0)} MB`,
        unit: 'MB/s',
        stats: summarize([mb / run.seconds]),
        note: 'one run',
      };
    } catch (error) {
      ctx.log(`${SL_INSTALLED}: ${(error as Error).message.split('\n')[0]}; measuring a slice`);
      const slice: string[] = [];
      let sliceSize = 0;
      for (const file of corpus.files) {
        if (sliceSize >= sliceBytes) break;
        slice.push(join(root, file.path));
        sliceSize += Buffer.byteLength(file.text);
      }
      const sliceMb = sliceSize / (1024 * 1024);
      const run = await runSecretlint(slice, join(lists, 'slice.json'), true, 60_000);
      installedRow = {
        scenario: TITLE,
        subject: SL_INSTALLED,
        metric: `throughput on a ${sliceMb.toFixed(1)} MB slice (${slice.length} files)`,
        unit: 'MB/s',
        stats: summarize([sliceMb / run.seconds]),
        note: `one run; the whole corpus did not finish in ${installedLimitMs / 1000} s (quadratic in files)`,
      };
    }

    ctx.log(
      `\nRecall per kind on the corpus (found/planted):\n${recallTable([
        [KW, kwRecall],
        ['secretlint', slRecall],
      ])}\n`,
    );

    const base: Row = {
      scenario: TITLE,
      subject: SL,
      metric: `throughput, ${mb.toFixed(0)} MB`,
      unit: 'MB/s',
      stats: summarize(slRates),
      note: describeRecall(slRecall),
    };
    const kw = compared(
      {
        scenario: TITLE,
        subject: KW,
        metric: `throughput, ${mb.toFixed(0)} MB`,
        unit: 'MB/s',
        stats: summarize(rates),
        note: describeRecall(kwRecall),
      },
      base,
      TARGET,
    );
    return [base, kw, compared(installedRow, base)];
  },
};
