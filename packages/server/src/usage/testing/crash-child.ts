/**
 * The child process of crash.test.ts: records one usage event per millisecond (its sequence
 * number in `route`) into an SQLite store through a UsageRecorder, and reports on stdout:
 *   `recorded <seq>`            after each event is accepted,
 *   `flushed <lastSeq> <size>`  after each batch is committed,
 *   `closed <lastSeq>`          after a SIGTERM's clean shutdown.
 * Usage: node --import tsx crash-child.ts <db file> <flush interval ms> [repository|thread]
 * `thread` (the default, as a node on SQLite runs) writes through the store's batch writer on
 * its worker thread; `repository` writes with `insertBatch` on the main thread.
 * Writes to a pipe are synchronous on Linux, so a line printed is a line the parent gets,
 * even if the process is killed right after.
 */
import { openSqliteStore } from '../../store/index.ts';
import { type UsageBatch, usageEventsOf } from '../batch.ts';
import { UsageRecorder, type UsageSink } from '../recorder.ts';
import type { UsageEvent } from '../types.ts';

const [file, interval, mode = 'thread'] = process.argv.slice(2);
if (!file) throw new Error('usage: crash-child.ts <db file> [flush interval ms] [mode]');
const print = (line: string) => process.stdout.write(`${line}\n`);
const printFlushed = (events: readonly UsageEvent[]) =>
  print(`flushed ${events.at(-1)?.route?.slice('/seq/'.length)} ${events.length}`);

const store = await openSqliteStore(file);
const writer = store.usage.openBatchWriter?.();
if (mode === 'thread' && !writer) throw new Error('the store has no batch writer');
const sink: UsageSink =
  mode === 'thread' && writer
    ? {
        async writeBatch(batch: UsageBatch) {
          // Read before the write: the writer takes the batch's arrays to its thread.
          const events = usageEventsOf(batch);
          await writer.writeBatch(batch);
          printFlushed(events);
        },
        close: () => writer.close(),
      }
    : {
        async insertBatch(events: readonly UsageEvent[]) {
          await store.usage.insertBatch(events);
          printFlushed(events);
        },
      };
const recorder = new UsageRecorder(sink, { flushIntervalMs: Number(interval ?? 200) });

let seq = -1;
const generator = setInterval(() => {
  seq += 1;
  void recorder.record({
    at: Date.now(),
    keyId: 'key_crash',
    projectId: 'prj_crash',
    ownerId: null,
    env: 'prod',
    outcome: 'VALID',
    entryPoint: 'verify',
    route: `/seq/${seq}`,
    status: 200,
    latencyMs: 0.5,
    clientIp: '127.0.0.1',
    userAgent: 'crash-child',
    cost: 1,
    tokensIn: null,
    tokensOut: null,
    costMicros: null,
  });
  print(`recorded ${seq}`);
}, 1);

process.once('SIGTERM', () => {
  clearInterval(generator);
  void (async () => {
    await recorder.close();
    print(`closed ${seq}`);
    await store.close();
    process.exit(0);
  })();
});
print('ready');
