import { type Summary, summarize } from './stats.ts';

/**
 * In-process throughput: how many calls of a function complete per second. The clock
 * (`process.hrtime.bigint()`, monotonic, ns) is read once per batch, not per call, so that its
 * own cost (~50 ns) stays out of sub-microsecond figures.
 *
 * Sync and async subjects are measured differently on purpose: awaiting a sync function would
 * add a microtask per call to the floor, while an async API's await is part of what its
 * callers pay.
 */

export interface Subject {
  name: string;
  /** Either a sync call, or an async one that is awaited before the next starts. */
  call: (() => unknown) | (() => Promise<unknown>);
  async: boolean;
}

const BATCH = 256;

/** Lets timers and I/O callbacks run, as they do between a server's requests. */
const turnOfTheEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Calls `subject` for at least `ms`; returns the calls made and the ns they took. */
async function runFor(subject: Subject, ms: number): Promise<{ ops: number; ns: number }> {
  const budget = BigInt(Math.round(ms * 1e6));
  const start = process.hrtime.bigint();
  let elapsed = 0n;
  let ops = 0;
  const { call } = subject;
  do {
    if (subject.async) {
      for (let i = 0; i < BATCH; i++) await call();
    } else {
      for (let i = 0; i < BATCH; i++) call();
    }
    ops += BATCH;
    // Awaiting settled promises never leaves the microtask queue, so without this a loop of
    // calls would starve every timer and I/O callback of the process (the usage recorder's
    // flushes and its writer thread's replies among them), which no host of a verifier does.
    await turnOfTheEventLoop();
    elapsed = process.hrtime.bigint() - start;
  } while (elapsed < budget);
  return { ops, ns: Number(elapsed) };
}

/** Subjects take turns in slices this long, so that a burst of load elsewhere hits all alike. */
const SLICE_MS = 100;

/**
 * Warms every subject up (JIT, caches), then runs `rounds` rounds. Within a round the
 * subjects take turns in ~100 ms slices (A B C A B C …) until each has had `roundMs`, and a
 * round's figure is its calls over its time. On a shared machine another process's burst
 * then slows every subject of the round alike, so ratios hold even when absolute figures dip.
 */
export async function measureInterleaved(
  subjects: readonly Subject[],
  options: { rounds: number; roundMs: number; warmupMs: number },
): Promise<Map<string, Summary>> {
  for (const subject of subjects) await runFor(subject, options.warmupMs);
  const slices = Math.max(1, Math.round(options.roundMs / SLICE_MS));
  const sliceMs = options.roundMs / slices;
  const samples = new Map<string, number[]>(subjects.map((s) => [s.name, []]));
  for (let round = 0; round < options.rounds; round++) {
    const totals = subjects.map(() => ({ ops: 0, ns: 0 }));
    for (let slice = 0; slice < slices; slice++) {
      for (const [i, subject] of subjects.entries()) {
        const { ops, ns } = await runFor(subject, sliceMs);
        totals[i]!.ops += ops;
        totals[i]!.ns += ns;
      }
    }
    for (const [i, subject] of subjects.entries()) {
      const { ops, ns } = totals[i]!;
      samples.get(subject.name)!.push(ops / (ns / 1e9));
    }
  }
  return new Map([...samples].map(([name, values]) => [name, summarize(values)]));
}
