import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * What the figures were measured on, and whether anything else was using it. On a shared
 * 2-core machine another process's test run halves a server's throughput and moves ratios
 * too (crypto and JavaScript do not slow down alike), so the bench says how busy the machine
 * was and can wait for it to be idle (`--wait-idle`).
 */

export function describeMachine(): string {
  const list = cpus();
  return `${list.length} × ${list[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}, ${process.platform}`;
}

/** `/proc/stat`'s first line → [busy, total] jiffies, all CPUs together. */
export function parseCpuLine(text: string): [number, number] {
  const line = text.split('\n', 1)[0] ?? '';
  if (!line.startsWith('cpu ')) throw new Error('unreadable /proc/stat');
  const n = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already in user).
  const total = n.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (n[3] ?? 0) + (n[4] ?? 0);
  return [total - idle, total];
}

/** Share of all CPUs busy over `ms` (this process is idle meanwhile), or null off Linux. */
export async function cpuBusyPct(ms = 1000): Promise<number | null> {
  if (process.platform !== 'linux') return null;
  const read = () => parseCpuLine(readFileSync('/proc/stat', 'utf8'));
  const [busy0, total0] = read();
  await sleep(ms);
  const [busy1, total1] = read();
  return total1 === total0 ? 0 : ((busy1 - busy0) / (total1 - total0)) * 100;
}

/** Polls until the machine is below `thresholdPct` busy, for at most `maxMs`. */
export async function waitForIdle(
  thresholdPct: number,
  maxMs: number,
  log: (message: string) => void,
): Promise<number | null> {
  const deadline = Date.now() + maxMs;
  let busy = await cpuBusyPct();
  while (busy !== null && busy >= thresholdPct && Date.now() < deadline) {
    log(`machine ${busy.toFixed(0)}% busy; waiting for < ${thresholdPct}% (--wait-idle)`);
    await sleep(4000);
    busy = await cpuBusyPct();
  }
  return busy;
}
