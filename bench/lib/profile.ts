import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * Reads V8 `.cpuprofile` files (written by `node --cpu-prof`) and lists the functions with
 * the most self time: enough to see where a missed target goes without opening DevTools.
 *
 * Under `--import tsx` a server has two JavaScript threads (tsx's module loader runs in a
 * worker), and each writes a profile; the busiest one is the server's main thread.
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

export interface CpuProfile {
  nodes: ProfileNode[];
}

export interface Frame {
  name: string;
  /** Share of the busy (non-idle) samples. */
  selfPct: number;
}

export interface ProfileSummary {
  file: string;
  /** Share of all samples that were not idle. */
  busyPct: number;
  busySamples: number;
  frames: Frame[];
}

function label(node: ProfileNode, root: string): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const name = functionName || '(anonymous)';
  if (!url) return name;
  const path = url.startsWith('file://') ? relative(root, new URL(url).pathname) : url;
  // lineNumber is 0-based. tsx emits each TypeScript module on one line, so "line 1" says
  // nothing there and is left out; the function name and file are what identify the frame.
  return lineNumber > 0 ? `${name} ${path}:${lineNumber + 1}` : `${name} ${path}`;
}

export function summarizeProfile(
  profile: CpuProfile,
  root: string,
  limit = 15,
): Omit<ProfileSummary, 'file'> {
  const self = new Map<string, number>();
  let total = 0;
  let busy = 0;
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    total += hits;
    if (hits === 0 || node.callFrame.functionName === '(idle)') continue;
    busy += hits;
    const name = label(node, root);
    self.set(name, (self.get(name) ?? 0) + hits);
  }
  const frames = [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([name, hits]) => ({ name, selfPct: busy === 0 ? 0 : (hits / busy) * 100 }));
  return { busyPct: total === 0 ? 0 : (busy / total) * 100, busySamples: busy, frames };
}

/** The busiest profile in `dir` (the main thread), or null when there is none. */
export function busiestProfile(dir: string, root: string, limit?: number): ProfileSummary | null {
  if (!existsSync(dir)) return null;
  let best: ProfileSummary | null = null;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
    const summary = { file: join(dir, file), ...summarizeProfile(profile, root, limit) };
    if (!best || summary.busySamples > best.busySamples) best = summary;
  }
  return best;
}
