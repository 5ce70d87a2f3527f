import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * One registry of what the bench leaves behind — child processes and temp directories — so
 * that a failed assertion, a thrown error or Ctrl-C never leaves a server holding a port or a
 * data directory in /tmp. Normal paths stop children politely (SIGTERM, so that `--cpu-prof`
 * profiles get written); the exit hook is the safety net and uses SIGKILL, since nothing
 * asynchronous can run at that point.
 */

const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let installed = false;

export function trackChild(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
}

/** A fresh directory under os.tmpdir(), removed when the bench exits (whatever the reason). */
export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `keywarden-bench-${prefix}-`));
  tempDirs.add(dir);
  return dir;
}

/** Keep a temp directory after exit (e.g. CPU profiles the user asked for). */
export function keepTempDir(dir: string): void {
  tempDirs.delete(dir);
}

function cleanupNow(): void {
  for (const child of children) {
    // Only processes this bench spawned, by their own pid.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  children.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

export function installCleanupHandlers(): void {
  if (installed) return;
  installed = true;
  process.on('exit', cleanupNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping child processes\n`);
      cleanupNow();
      process.exit(130);
    });
  }
}

export function liveChildren(): number {
  return children.size;
}
