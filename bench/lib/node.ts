import { spawnSync } from 'node:child_process';
import { realpathSync } from 'node:fs';

/**
 * Which Node.js runs the bench and every process it starts. `--node PATH` (or
 * `KEYWARDEN_BENCH_NODE`) re-runs the whole bench under that binary, so the in-process
 * scenarios, the servers and the Node-based load tools all run on the same Node and a figure
 * is never a mix of two. Children are started with `process.execPath`, which is then that Node.
 */

const versions = new Map<string, string>();

/** `node --version` of a binary, remembered; "unknown" when it does not answer. */
export function nodeVersionOf(command: string): string {
  let version = versions.get(command);
  if (version === undefined) {
    const result = spawnSync(command, ['--version'], { encoding: 'utf8', timeout: 10_000 });
    version = result.status === 0 ? result.stdout.trim() : 'unknown';
    versions.set(command, version);
  }
  return version;
}

function samePath(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

/** The bench's arguments without `--node PATH` / `--node=PATH`. */
export function withoutNodeFlag(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--node') i++;
    else if (!args[i]?.startsWith('--node=')) out.push(args[i] as string);
  }
  return out;
}

/**
 * Checks that `node` can load the project's native module: better-sqlite3 is built for one
 * Node ABI, and a server on another Node would fail at its first store call.
 */
function assertNativeModulesLoad(node: string, cwd: string): void {
  const probe = spawnSync(node, ['-e', "new (require('better-sqlite3'))(':memory:').close()"], {
    cwd,
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (probe.status === 0) return;
  const bin = node.slice(0, node.lastIndexOf('/'));
  const nodedir = bin.slice(0, bin.lastIndexOf('/'));
  throw new Error(
    `--node ${node}: better-sqlite3 is not built for ${nodeVersionOf(node)}. Rebuild it for that Node:\n` +
      `  PATH="${bin}:$PATH" npm_config_nodedir="${nodedir}" npm rebuild better-sqlite3\n` +
      `(and the same with your usual Node to go back)\n${probe.stderr.slice(-600)}`,
  );
}

/**
 * When another Node was asked for, runs the bench under it and answers its exit code;
 * answers null when this process already is that Node (or none was asked for).
 */
export function rerunUnderRequestedNode(
  requested: string | undefined,
  script: string,
  cwd: string,
): number | null {
  if (!requested || samePath(requested, process.execPath)) return null;
  if (nodeVersionOf(requested) === 'unknown') {
    throw new Error(`--node ${requested}: not a Node.js binary that answers --version`);
  }
  assertNativeModulesLoad(requested, cwd);
  const result = spawnSync(
    requested,
    ['--import', 'tsx', script, ...withoutNodeFlag(process.argv.slice(2))],
    { cwd, stdio: 'inherit', env: { ...process.env, KEYWARDEN_BENCH_NODE: requested } },
  );
  return result.status ?? 1;
}
