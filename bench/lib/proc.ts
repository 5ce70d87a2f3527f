import { type ChildProcess, spawn } from 'node:child_process';
import { trackChild } from './cleanup.ts';
import { nodeVersionOf } from './node.ts';

/**
 * Process helpers: start a server and wait for its ready line, stop it, and run a tool to
 * completion with a hard time limit. Every child is tracked (cleanup.ts), so none outlives
 * the bench.
 */

/** The last few kB of a child's stderr, to explain a failure without flooding the terminal. */
function tail(chunks: string[], max = 2000): string {
  const text = chunks.join('');
  return text.length > max ? `…${text.slice(-max)}` : text;
}

/** "Node v24.1.0" for a Node binary (every server and Node load tool), else the command. */
function describeCommand(command: string): string {
  return command === process.execPath ? `Node ${nodeVersionOf(command)} (${command})` : command;
}

export interface ServerProcess {
  child: ChildProcess;
  /** The JSON object the server printed as its ready line. */
  ready: Record<string, unknown>;
  stop(): Promise<void>;
}

/**
 * Spawns a server that prints one JSON line `{"ready":true,…}` on stdout once it listens.
 * Its stdin is a pipe that the server watches: if this process dies without cleaning up
 * (SIGKILL), the pipe closes and the server exits on its own.
 */
export function startServerProcess(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; name: string },
): Promise<ServerProcess> {
  process.stderr.write(`  starting ${options.name} on ${describeCommand(command)}\n`);
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  trackChild(child);
  const stderr: string[] = [];
  child.stderr?.setEncoding('utf8').on('data', (s: string) => stderr.push(s));
  const timeoutMs = options.timeoutMs ?? 30_000;

  return new Promise((resolve, reject) => {
    let buffer = '';
    const fail = (why: string) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${options.name}: ${why}\n${tail(stderr)}`));
    };
    const timer = setTimeout(() => fail(`not ready after ${timeoutMs} ms`), timeoutMs);
    child.once('error', (error) => fail(`could not start (${error.message})`));
    const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
      fail(`exited before ready (code ${code}, ${signal})`);
    child.once('exit', onExit);
    child.stdout?.setEncoding('utf8').on('data', function onData(chunk: string) {
      buffer += chunk;
      const newline = buffer.indexOf('\n');
      if (newline === -1) return;
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      clearTimeout(timer);
      let ready: Record<string, unknown>;
      try {
        ready = JSON.parse(buffer.slice(0, newline)) as Record<string, unknown>;
      } catch {
        fail('first stdout line is not JSON');
        return;
      }
      // Keep draining stdout so that a chatty server never blocks on a full pipe.
      child.stdout?.resume();
      resolve({ child, ready, stop: () => stopProcess(child) });
    });
  });
}

/** SIGTERM, then SIGKILL if the process has not exited within `graceMs`. */
export function stopProcess(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (a load generator); killed if it overruns `timeoutMs`. */
export function runCommand(
  command: string,
  args: readonly string[],
  options: { timeoutMs: number; cwd?: string },
): Promise<RunResult> {
  if (command === process.execPath) process.stderr.write(`  running ${describeCommand(command)}\n`);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    trackChild(child);
    const out: string[] = [];
    const err: string[] = [];
    child.stdout?.setEncoding('utf8').on('data', (s: string) => out.push(s));
    child.stderr?.setEncoding('utf8').on('data', (s: string) => err.push(s));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ran past ${options.timeoutMs} ms\n${tail(err)}`));
    }, options.timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: out.join(''), stderr: err.join('') });
    });
  });
}
