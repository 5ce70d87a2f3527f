import { fstatSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { fileURLToPath } from 'node:url';
import { type Command, Option } from 'commander';
import {
  hookScript,
  installPreCommitHook,
  type KeyLivenessClient,
  type ReportFormat,
  runScan,
  type ScanIo,
  ScanUsageError,
} from '../../scanner/index.ts';
import { CliError, type ClientOptions, callApi, managementKey } from '../client.ts';
import { terminalProgress } from '../progress.ts';
import { withClientOptions } from './keys.ts';

const BIN = fileURLToPath(new URL('../../../bin/keywarden.js', import.meta.url));
const VERSION = (
  JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

interface ScanCommandOptions extends ClientOptions {
  json?: boolean;
  format: ReportFormat;
  output?: string;
  git?: boolean;
  staged?: boolean;
  baseline?: string;
  writeBaseline?: string;
  generic: boolean;
  maxFileSize: string;
  stdinName?: string;
  check?: boolean;
  revoke?: boolean;
  yes?: boolean;
  installHook?: boolean;
  force?: boolean;
}

/** The management API as the scanner needs it: verify (spending nothing) and revoke. */
export function managementApiClient(options: ClientOptions): KeyLivenessClient {
  return {
    async verify(key) {
      const answer = await callApi<{ code: string; keyId?: string }>(
        options,
        'POST',
        '/v1/verify',
        {
          key,
          cost: 0,
        },
      );
      return { code: answer.code, ...(answer.keyId ? { keyId: answer.keyId } : {}) };
    },
    async revoke(keyId, reason) {
      await callApi(options, 'POST', `/v1/keys/${encodeURIComponent(keyId)}/revoke`, { reason });
    },
  };
}

/** Piped or redirected: a pipe, a socket (what Node gives a child) or a regular file. */
function stdinIsPiped(): boolean {
  try {
    const stats = fstatSync(0);
    return stats.isFIFO() || stats.isFile() || stats.isSocket();
  } catch {
    return false;
  }
}

async function readAllStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function askOnTerminal(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(?:es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

export function registerScan(program: Command): void {
  withClientOptions(
    program
      .command('scan [paths...]')
      .description(
        'find secrets (keywarden keys, third-party tokens, high-entropy values) in files, stdin, staged changes or git history; exit 1 if any',
      ),
  )
    .addOption(
      new Option('--format <format>', 'report format')
        .choices(['table', 'json', 'sarif'])
        .default('table'),
    )
    .option('--output <file>', 'write the report to a file instead of stdout')
    .option('--git', 'scan every commit reachable from any ref (added lines only)')
    .option('--staged', 'scan the files staged for the next commit (what the hook runs)')
    .option('--baseline <file>', 'do not report findings whose fingerprints are in this file')
    .option(
      '--write-baseline <file>',
      'write the fingerprints of all findings to this file; exit 0',
    )
    .option('--no-generic', 'exact formats only: skip the high-entropy rule')
    .option('--max-file-size <mb>', 'skip files larger than this many MB', '10')
    .option('--stdin-name <path>', 'the name standard input gets in reports', 'stdin')
    .option(
      '--check',
      'ask the server (POST /v1/verify, cost 0) which keywarden keys found are live',
    )
    .option('--revoke', 'revoke the live keywarden keys found (asks first; implies --check)')
    .option('-y, --yes', 'with --revoke: do not ask')
    .option('--install-hook', 'install a git pre-commit hook that runs `keywarden scan --staged`')
    .option('--force', 'with --install-hook: replace a pre-commit hook keywarden did not write')
    // Usage errors (unknown option, bad choice) exit 2, as the command promises; help exits 0.
    .exitOverride((error) => {
      process.exit(error.exitCode === 0 ? 0 : 2);
    })
    .action(async (paths: string[], o: ScanCommandOptions) => {
      const cwd = process.cwd();
      if (o.installHook) {
        const args = o.baseline ? ['--baseline', o.baseline] : [];
        try {
          const { path, replaced } = await installPreCommitHook({
            cwd,
            force: o.force ?? false,
            script: hookScript({ node: process.execPath, bin: BIN, args }),
          });
          process.stderr.write(`${replaced ? 'replaced' : 'installed'} ${path}\n`);
        } catch (error) {
          throw new CliError((error as Error).message, 2);
        }
        return;
      }
      const maxFileSizeMb = Number(o.maxFileSize);
      if (!(maxFileSizeMb > 0)) throw new CliError('--max-file-size must be a positive number', 2);
      const live = o.check || o.revoke;
      // Fail before scanning, not after: no management key is a usage error.
      if (live) managementKey(o);
      const readsStdin =
        paths.includes('-') || (paths.length === 0 && !o.git && !o.staged && stdinIsPiped());
      const interactive =
        !readsStdin && process.stdin.isTTY === true && process.stderr.isTTY === true;
      const io: ScanIo = {
        cwd,
        stdout: (text) => process.stdout.write(text),
        stderr: (text) => process.stderr.write(text),
        readStdin: readAllStdin,
        ...(live && { client: () => managementApiClient(o) }),
        ...(interactive && { confirm: askOnTerminal }),
        // A terminal sees a long scan move; a pipe or a file gets nothing extra.
        ...(process.stderr.isTTY === true && {
          progress: terminalProgress(
            (text) => process.stderr.write(text),
            () => performance.now(),
          ),
        }),
      };
      try {
        const result = await runScan(
          {
            paths,
            stdin: readsStdin,
            stdinName: o.stdinName,
            git: o.git,
            staged: o.staged,
            format: o.json ? 'json' : o.format,
            output: o.output,
            baseline: o.baseline,
            writeBaseline: o.writeBaseline,
            detect: { generic: o.generic },
            maxFileSize: maxFileSizeMb * 1024 * 1024,
            check: o.check,
            revoke: o.revoke,
            yes: o.yes,
            toolVersion: VERSION,
          },
          io,
        );
        process.exitCode = result.exitCode;
      } catch (error) {
        if (error instanceof ScanUsageError) throw new CliError(error.message, 2);
        throw error;
      }
    });
}
