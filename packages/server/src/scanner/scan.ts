import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { BaselineError, parseBaseline, serializeBaseline } from './baseline.ts';
import { checkKeys, type KeyLivenessClient, revocationReason } from './check.ts';
import { type DetectOptions, detectSecrets } from './detect.ts';
import { toSarif } from './report/sarif.ts';
import { formatFindingsTable } from './report/table.ts';
import { findingToJson, locateFinding, locationOf, type ScanFinding } from './scan-finding.ts';
import { DEFAULT_MAX_FILE_SIZE, readFileSources } from './sources/files.ts';
import { type HistoryProgress, readGitHistory } from './sources/git-history.ts';
import { readStagedSources } from './sources/staged.ts';
import type { ScanSource, SkipReason } from './sources/types.ts';

/**
 * `keywarden scan` as a function: options and an `io` object in, a report and an exit code
 * out. The command-line wiring (cli/commands/scan.ts) only builds these two from process
 * state, so that everything here runs in-process in tests, against a real server if need be.
 */

export type ReportFormat = 'table' | 'json' | 'sarif';

export interface ScanOptions {
  /** Files and folders; `-` is standard input. None: the working directory (or stdin). */
  paths?: readonly string[];
  /** Read standard input when no paths are given (the CLI sets it when stdin is piped). */
  stdin?: boolean;
  /** The name standard input gets in reports (default `stdin`). */
  stdinName?: string;
  /** Every commit reachable from any ref, additions only. */
  git?: boolean;
  /** The files staged for the next commit. */
  staged?: boolean;
  format?: ReportFormat;
  /** Write the report to this file rather than stdout. */
  output?: string;
  baseline?: string;
  writeBaseline?: string;
  detect?: Omit<DetectOptions, 'path'>;
  maxFileSize?: number;
  check?: boolean;
  revoke?: boolean;
  yes?: boolean;
  toolVersion?: string;
}

export interface ScanIo {
  cwd: string;
  stdout(text: string): void;
  stderr(text: string): void;
  readStdin(): Promise<string>;
  /** Built only when `--check` or `--revoke` needs the server. */
  client?: () => KeyLivenessClient;
  /** Asks a yes/no question; absent when nobody can answer (no terminal). */
  confirm?: (question: string) => Promise<boolean>;
  /**
   * Told after each file (or hunk) scanned, and with null when the scan is over: a terminal
   * shows that a long scan is moving. Absent when nobody watches (output piped).
   */
  progress?: (state: ScanProgress | null) => void;
}

export interface ScanProgress {
  files: number;
  bytes: number;
  commits?: number;
  findings: number;
}

export interface ScanSummary {
  files: number;
  bytes: number;
  commits?: number;
  skipped: Partial<Record<SkipReason, number>>;
  findings: number;
  suppressedByBaseline: number;
  seconds: number;
}

export interface ScanResult {
  exitCode: 0 | 1 | 2;
  findings: ScanFinding[];
  summary: ScanSummary;
}

/** A mistake in how the scan was asked for: exit code 2. */
export class ScanUsageError extends Error {}

function sourcesFor(
  options: ScanOptions,
  io: ScanIo,
  onSkip: (path: string, reason: SkipReason) => void,
  history: HistoryProgress,
): AsyncGenerator<ScanSource> {
  const maxFileSize = options.maxFileSize ?? DEFAULT_MAX_FILE_SIZE;
  const paths = options.paths ?? [];
  if (options.git || options.staged) {
    if (paths.length > 1)
      throw new ScanUsageError('--git and --staged take at most one path: the repository');
    const repo = resolve(io.cwd, paths[0] ?? '.');
    return options.git
      ? readGitHistory(repo, history)
      : readStagedSources(repo, { maxFileSize, onSkip });
  }
  const useStdin = paths.length === 0 && options.stdin === true;
  const wanted = useStdin ? ['-'] : paths.length === 0 ? ['.'] : paths;
  return (async function* () {
    for (const path of wanted) {
      if (path === '-') {
        const text = await io.readStdin();
        yield { file: options.stdinName ?? 'stdin', text, bytes: Buffer.byteLength(text) };
      } else {
        yield* readFileSources([path], { cwd: io.cwd, maxFileSize, onSkip });
      }
    }
  })();
}

async function loadBaseline(path: string, cwd: string): Promise<Set<string>> {
  let text: string;
  try {
    text = await readFile(resolve(cwd, path), 'utf8');
  } catch (error) {
    throw new ScanUsageError(`cannot read baseline ${path}: ${(error as Error).message}`);
  }
  try {
    return parseBaseline(text);
  } catch (error) {
    if (error instanceof BaselineError) throw new ScanUsageError(`${path}: ${error.message}`);
    throw error;
  }
}

async function checkAndRevoke(
  findings: ScanFinding[],
  options: ScanOptions,
  io: ScanIo,
): Promise<void> {
  const keyed = findings.filter((f) => f.kind === 'keywarden');
  if (keyed.length === 0) return;
  const client = io.client!();
  let checks: Awaited<ReturnType<typeof checkKeys>>;
  try {
    checks = await checkKeys(
      keyed.map((f) => f.secret),
      client,
    );
  } catch (error) {
    const note = `check failed: ${(error as Error).message}`;
    io.stderr(`warning: ${note}; keys are reported unchecked\n`);
    for (const f of keyed) f.check = { status: 'unchecked', note };
    return;
  }
  for (const f of keyed) f.check = checks.get(f.secret);
  if (!options.revoke) return;

  // One revocation per key, with the first place it was found as the reason.
  const targets = new Map<string, ScanFinding[]>();
  for (const f of keyed) {
    const { status, keyId } = f.check ?? {};
    if ((status === 'live' || status === 'disabled') && keyId) {
      targets.set(keyId, [...(targets.get(keyId) ?? []), f]);
    }
  }
  if (targets.size === 0) {
    io.stderr('No live keywarden key to revoke.\n');
    return;
  }
  if (!options.yes) {
    const list = [...targets]
      .map(([id, found]) => `  ${id} ${found[0]!.redacted} at ${locationOf(found[0]!)}`)
      .join('\n');
    const agreed = await io.confirm!(
      `Revoke ${targets.size} live key(s)?\n${list}\nRevoke? [y/N] `,
    );
    if (!agreed) {
      io.stderr('Nothing revoked.\n');
      return;
    }
  }
  for (const [keyId, found] of targets) {
    try {
      await client.revoke(keyId, revocationReason(locationOf(found[0]!)));
      for (const f of found) f.revoked = true;
      io.stderr(`revoked ${keyId} (${found[0]!.redacted})\n`);
    } catch (error) {
      io.stderr(`could not revoke ${keyId}: ${(error as Error).message}\n`);
    }
  }
}

function render(
  format: ReportFormat,
  findings: ScanFinding[],
  summary: ScanSummary,
  version: string,
): string {
  if (format === 'sarif')
    return `${JSON.stringify(toSarif(findings, { toolVersion: version }), null, 2)}\n`;
  if (format === 'json') {
    return `${JSON.stringify({ findings: findings.map(findingToJson), summary }, null, 2)}\n`;
  }
  return formatFindingsTable(findings);
}

function describeSummary(summary: ScanSummary): string {
  const mb = summary.bytes / (1024 * 1024);
  const skipped = Object.entries(summary.skipped)
    .map(([reason, n]) => `${n} ${reason}`)
    .join(', ');
  return [
    `scanned ${summary.commits !== undefined ? `${summary.commits} commits, ` : ''}${summary.files} ${summary.commits !== undefined ? 'hunks' : 'files'}`,
    ` (${mb.toFixed(mb < 10 ? 2 : 1)} MB in ${summary.seconds.toFixed(2)} s)`,
    skipped ? `; skipped ${skipped}` : '',
    `; ${summary.findings} finding${summary.findings === 1 ? '' : 's'}`,
    summary.suppressedByBaseline ? ` (${summary.suppressedByBaseline} more in the baseline)` : '',
    '\n',
  ].join('');
}

export async function runScan(options: ScanOptions, io: ScanIo): Promise<ScanResult> {
  const started = performance.now();
  if (options.git && options.staged)
    throw new ScanUsageError('--git and --staged exclude each other');
  if ((options.check || options.revoke) && !io.client) {
    throw new ScanUsageError('--check and --revoke need a keywarden server');
  }
  if (options.revoke && !options.yes && !io.confirm) {
    throw new ScanUsageError(
      'refusing to revoke without confirmation: no terminal to ask on; pass --yes to revoke live keys without asking',
    );
  }
  const baseline = options.baseline
    ? await loadBaseline(options.baseline, io.cwd)
    : new Set<string>();

  const skipped: Partial<Record<SkipReason, number>> = {};
  const history: HistoryProgress = { commits: 0 };
  const all: ScanFinding[] = [];
  let files = 0;
  let bytes = 0;
  let sources: AsyncGenerator<ScanSource>;
  try {
    sources = sourcesFor(
      options,
      io,
      (_path, reason) => {
        skipped[reason] = (skipped[reason] ?? 0) + 1;
      },
      history,
    );
    for await (const source of sources) {
      files++;
      bytes += source.bytes;
      for (const finding of detectSecrets(source.text, { ...options.detect, path: source.file })) {
        all.push(locateFinding(finding, source));
      }
      io.progress?.({
        files,
        bytes,
        ...(options.git && { commits: history.commits }),
        findings: all.length,
      });
    }
  } catch (error) {
    if (error instanceof ScanUsageError) throw error;
    throw new ScanUsageError((error as Error).message);
  } finally {
    io.progress?.(null);
  }

  const findings = all.filter((f) => !baseline.has(f.fingerprint));
  if (options.check || options.revoke) await checkAndRevoke(findings, options, io);

  const summary: ScanSummary = {
    files,
    bytes,
    ...(options.git && { commits: history.commits }),
    skipped,
    findings: findings.length,
    suppressedByBaseline: all.length - findings.length,
    seconds: (performance.now() - started) / 1000,
  };
  const report = render(
    options.format ?? 'table',
    findings,
    summary,
    options.toolVersion ?? '0.0.0',
  );
  if (options.output) await writeFile(resolve(io.cwd, options.output), report);
  else io.stdout(report);
  io.stderr(describeSummary(summary));

  if (options.writeBaseline) {
    const entries = all.map((f) => ({
      fingerprint: f.fingerprint,
      ruleId: f.ruleId,
      file: f.file,
      line: f.line,
      ...(f.commit !== undefined && { commit: f.commit }),
    }));
    await writeFile(resolve(io.cwd, options.writeBaseline), serializeBaseline(entries));
    io.stderr(
      `baseline of ${new Set(entries.map((e) => e.fingerprint)).size} fingerprint(s) written to ${options.writeBaseline}\n`,
    );
    return { exitCode: 0, findings, summary };
  }
  if (options.staged && findings.length > 0) {
    io.stderr(
      'keywarden: the staged files hold secrets. Remove them (and revoke any that are real), mark a line that holds none with `keywarden:allow`, or accept findings with a baseline.\n',
    );
  }
  return { exitCode: findings.length > 0 ? 1 : 0, findings, summary };
}
