import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

/**
 * Real keywarden nodes for cluster tests: separate processes on separate ports, started
 * through the `keywarden start` binary with the environment an operator would give them.
 */
const BIN = fileURLToPath(new URL('../../bin/keywarden.js', import.meta.url));

export interface ClusterNode {
  name: string;
  url: string;
  process: ChildProcess;
  logs(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export function clusterSecrets(): Record<string, string> {
  return {
    KEYWARDEN_PEPPER: randomBytes(32).toString('base64'),
    KEYWARDEN_MASTER_KEY: randomBytes(32).toString('base64'),
  };
}

/**
 * A correctness bound, not a timing: a node starts in 1–7 s here (tsx compiles the server
 * first), several at once on two busy cores take longer.
 */
const START_TIMEOUT_MS = 90_000;

/**
 * Starts every node, or none: when one fails, the ones that started are killed before the
 * error is thrown (a test's `after` never sees them, and they would keep the suite alive).
 */
export async function startNodes<T extends ClusterNode>(
  starts: ReadonlyArray<() => Promise<T>>,
): Promise<T[]> {
  const results = await Promise.allSettled(starts.map((start) => start()));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (!failed) return results.map((r) => (r as PromiseFulfilledResult<T>).value);
  await Promise.all(
    results.map((r) => (r.status === 'fulfilled' ? r.value.stop('SIGKILL') : undefined)),
  );
  throw failed.reason;
}

export async function startNode(name: string, env: Record<string, string>): Promise<ClusterNode> {
  const child = spawn(process.execPath, [BIN, 'start', '--port', '0'], {
    env: { ...process.env, KEYWARDEN_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += String(chunk);
  });
  child.stderr?.on('data', (chunk) => {
    output += String(chunk);
  });
  const url = await new Promise<string>((resolve, reject) => {
    // A node that did not start is killed: left running, its pipes would keep the test
    // process (and so the whole suite) alive forever.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not start within ${START_TIMEOUT_MS} ms:\n${output}`));
    }, START_TIMEOUT_MS);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code ?? signal}:\n${output}`));
    });
    const check = () => {
      const match = /"url":"(http:\/\/[^"]+)"[^\n]*"msg":"keywarden listening"/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      } else if (child.exitCode === null) setTimeout(check, 25);
    };
    check();
  });
  return {
    name,
    url,
    process: child,
    logs: () => output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill(signal);
      await exited;
    },
  };
}
