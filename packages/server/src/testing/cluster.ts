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
    const timer = setTimeout(() => reject(new Error(`${name} did not start:\n${output}`)), 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code}:\n${output}`));
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
