import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openSqliteStore } from '../store/index.ts';

const FLUSH_INTERVAL_MS = 200;
const CHILD = fileURLToPath(new URL('./testing/crash-child.ts', import.meta.url));
const PACKAGE_DIR = fileURLToPath(new URL('../../', import.meta.url));

/** `thread`: through the SQLite store's writer thread (as a node runs); `repository`: insertBatch. */
type WriteMode = 'thread' | 'repository';

interface ChildReport {
  lastRecorded: number;
  /** Last sequence number of each committed batch, and the batch's size. */
  flushes: Array<{ last: number; size: number }>;
  closed: number | null;
}

/** Runs the child until `stop` says when and how to end it; returns what it reported. */
async function runChild(
  file: string,
  mode: WriteMode,
  stop: (report: ChildReport) => NodeJS.Signals | null,
): Promise<{ report: ChildReport; code: number | null; signal: NodeJS.Signals | null }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', CHILD, file, String(FLUSH_INTERVAL_MS), mode],
    { cwd: PACKAGE_DIR, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const report: ChildReport = { lastRecorded: -1, flushes: [], closed: null };
  let pending = '';
  let signalled = false;
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      const [kind, a, b] = line.split(' ');
      if (kind === 'recorded') report.lastRecorded = Number(a);
      else if (kind === 'flushed') report.flushes.push({ last: Number(a), size: Number(b) });
      else if (kind === 'closed') report.closed = Number(a);
    }
    const signal = signalled ? null : stop(report);
    if (signal) {
      signalled = true;
      child.kill(signal);
    }
  });
  const [code, signal] = (await new Promise((resolve) =>
    child.once('exit', (c, s) => resolve([c, s])),
  )) as [number | null, NodeJS.Signals | null];
  return { report, code, signal };
}

async function storedSequence(file: string): Promise<number[]> {
  const store = await openSqliteStore(file);
  try {
    const events = await store.usage.listEvents({ keyId: 'key_crash', limit: 1_000_000 });
    return events.map((e) => Number(e.route?.slice('/seq/'.length)));
  } finally {
    await store.close();
  }
}

function assertNoGaps(seqs: number[]): void {
  const broken = seqs.findIndex((s, i) => s !== i);
  assert.equal(broken, -1, `events stored in order from 0 without gaps (break at ${broken})`);
}

for (const mode of ['thread', 'repository'] as const) {
  describe(`usage recorder durability across a real process (${mode})`, { timeout: 20_000 }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'kw-usage-crash-'));
    after(() => rmSync(dir, { recursive: true, force: true }));

    test('kill -9 loses at most the last flush interval, and leaves no gaps', async (t) => {
      const file = join(dir, 'kill.db');
      let killAt = 0;
      const { report, signal } = await runChild(file, mode, (r) => {
        // After three committed batches, kill somewhere inside the next interval.
        if (r.flushes.length < 3) return null;
        killAt ||= Date.now() + 70;
        return Date.now() >= killAt ? 'SIGKILL' : null;
      });
      assert.equal(signal, 'SIGKILL');
      const lastFlushed = report.flushes.at(-1)!.last;
      const seqs = await storedSequence(file);
      assertNoGaps(seqs);
      const lastStored = seqs.length - 1;
      assert.ok(
        lastStored >= lastFlushed,
        `every reported flush is stored (${lastStored} ≥ ${lastFlushed})`,
      );
      const missing = report.lastRecorded - lastStored;
      t.diagnostic(
        `recorded ${report.lastRecorded + 1}, stored ${seqs.length}, lost ${missing}; batches ${report.flushes.map((f) => f.size).join(' ')}`,
      );
      // The generator records at most one event per millisecond: one interval holds ≤ 200.
      // The bound allows the interval plus a batch in flight.
      assert.ok(missing >= 0 && missing <= 2 * FLUSH_INTERVAL_MS, `lost ${missing} events`);
    });

    test('SIGTERM flushes everything: zero loss', async () => {
      const file = join(dir, 'term.db');
      const { report, code } = await runChild(file, mode, (r) =>
        r.flushes.length >= 2 ? 'SIGTERM' : null,
      );
      assert.equal(code, 0);
      assert.notEqual(report.closed, null);
      assert.equal(report.closed, report.lastRecorded);
      const seqs = await storedSequence(file);
      assertNoGaps(seqs);
      assert.equal(seqs.length, report.lastRecorded + 1, 'every recorded event is stored');
    });
  });
}
