import { Worker } from 'node:worker_threads';
import type SQLite from 'better-sqlite3';
import type { UsageBatch } from '../usage/batch.ts';
import { groupUsageEvents, type UsageEventGroup } from '../usage/group.ts';
import type { UsageBatchWriter } from '../usage/recorder.ts';
import { rollUp } from '../usage/rollup.ts';
import { usageText } from '../usage/text.ts';
import type { UsageEvent } from '../usage/types.ts';

/**
 * Usage writes on SQLite with prepared statements, bypassing the query builder: one insert
 * run per event and one upsert per roll-up row. The statements are the same on the main
 * connection (inside a Kysely transaction) and on the usage writer thread's own connection.
 */
export interface SqliteUsageStatements {
  /** Inserts raw event rows; the caller holds the transaction. */
  insertEvents(rows: readonly UsageEventGroup[]): void;
  /** Events and their roll-ups in one `BEGIN IMMEDIATE` transaction: all or nothing. */
  writeBatch(events: readonly UsageEvent[]): void;
}

export function sqliteUsageStatements(database: SQLite.Database): SqliteUsageStatements {
  const insertEvent = database.prepare(
    `insert into usage_events (at, key_id, project_id, owner_id, env, outcome, entry_point, route, status,
       latency_ms, client_ip, user_agent, cost, tokens_in, tokens_out, cost_micros, count, unpriced)
     values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  // The same upsert as the portable path in usage-repository.ts.
  const addToRollup = database.prepare(
    `insert into usage_rollups (granularity, bucket_start, key_id, owner_id, project_id, env, outcome,
       count, cost_sum, tokens_in_sum, tokens_out_sum, cost_micros_sum, unpriced_sum, latency_ms_sum)
     values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     on conflict (granularity, bucket_start, key_id, owner_id, project_id, env, outcome) do update set
       count = usage_rollups.count + excluded.count,
       cost_sum = usage_rollups.cost_sum + excluded.cost_sum,
       tokens_in_sum = usage_rollups.tokens_in_sum + excluded.tokens_in_sum,
       tokens_out_sum = usage_rollups.tokens_out_sum + excluded.tokens_out_sum,
       cost_micros_sum = usage_rollups.cost_micros_sum + excluded.cost_micros_sum,
       unpriced_sum = usage_rollups.unpriced_sum + excluded.unpriced_sum,
       latency_ms_sum = usage_rollups.latency_ms_sum + excluded.latency_ms_sum`,
  );

  const insertEvents = (rows: readonly UsageEventGroup[]) => {
    // Routes and user agents repeat: redact each distinct text once per batch.
    const stored = new Map<string, string | null>();
    const text = (value: string | null): string | null => {
      if (value === null) return null;
      let result = stored.get(value);
      if (result === undefined) {
        result = usageText(value);
        stored.set(value, result);
      }
      return result;
    };
    for (const e of rows) {
      insertEvent.run(
        e.at,
        e.keyId,
        e.projectId,
        e.ownerId,
        e.env,
        e.outcome,
        e.entryPoint,
        text(e.route),
        e.status,
        e.latencyMs,
        e.clientIp,
        text(e.userAgent),
        e.cost,
        e.tokensIn,
        e.tokensOut,
        e.costMicros,
        e.count,
        e.unpriced ? 1 : 0,
      );
    }
  };
  const write = database.transaction((events: readonly UsageEvent[]) => {
    insertEvents(groupUsageEvents(events));
    // From the events themselves, not the rows: the roll-ups' latency sums stay exact.
    for (const d of rollUp(events)) {
      addToRollup.run(
        d.granularity,
        d.bucketStart,
        d.keyId,
        d.ownerId,
        d.projectId,
        d.env,
        d.outcome,
        d.count,
        d.costSum,
        d.tokensInSum,
        d.tokensOutSum,
        d.costMicrosSum,
        d.unpricedSum,
        d.latencyMsSum,
      );
    }
  });
  return { insertEvents, writeBatch: (events) => write.immediate(events) };
}

/** What the main thread sends the writer thread, and what comes back. */
export type UsageWriterRequest =
  | { type: 'write'; id: number; batch: UsageBatch }
  | { type: 'close' };
export type UsageWriterReply =
  | { id: number; ok: true }
  | { id: number; ok: false; message: string; code: string | undefined };

/**
 * The thread's first module. On Node 20 a worker does not inherit the main thread's loader
 * hooks (tsx, which runs the server's TypeScript), nor run its `--import` flags: the thread
 * registers tsx itself, then loads the writer.
 */
const BOOTSTRAP = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})
  .then(({ register }) => { register(); return import(${JSON.stringify(new URL('./usage-sqlite-worker.ts', import.meta.url).href)}); })`;

/**
 * Writes usage batches on a worker thread with its own connection to the database file (WAL:
 * the main connection keeps reading and writing; SQLite serialises the writers). The thread
 * starts with the recorder's first event (`prepare`), so that it is up by the first flush, and
 * ends with `close()`. It holds the process open only while a batch is in flight, so an
 * unclosed writer never keeps a process alive, and a SIGTERM handler that awaits the last
 * flush gets it.
 *
 * If the thread dies, the batches in flight are rejected (the recorder keeps their events and
 * retries) and the next batch starts a new thread.
 */
export class SqliteUsageWriter implements UsageBatchWriter {
  readonly #file: string;
  #worker: Worker | null = null;
  readonly #pending = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  #nextId = 1;

  constructor(file: string) {
    this.#file = file;
  }

  prepare(): void {
    this.#worker ??= this.#start();
  }

  writeBatch(batch: UsageBatch): Promise<void> {
    const worker = this.#worker ?? this.#start();
    const id = this.#nextId++;
    return new Promise<void>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      worker.ref();
      // The batch is the recorder's fresh copy: its arrays move to the thread, uncopied.
      worker.postMessage({ type: 'write', id, batch } satisfies UsageWriterRequest, [
        batch.numbers.buffer,
        batch.texts.buffer,
      ]);
    });
  }

  async close(): Promise<void> {
    const worker = this.#worker;
    if (!worker) return;
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    worker.ref();
    worker.postMessage({ type: 'close' } satisfies UsageWriterRequest);
    await exited;
  }

  #start(): Worker {
    const worker = new Worker(BOOTSTRAP, {
      eval: true,
      workerData: { file: this.#file },
      // The main thread's flags (a profiler, an inspector, tsx) are not passed on.
      execArgv: [],
    });
    this.#worker = worker;
    worker.unref();
    worker.on('message', (reply: UsageWriterReply) => {
      const pending = this.#pending.get(reply.id);
      if (!pending) return;
      this.#pending.delete(reply.id);
      if (this.#pending.size === 0) worker.unref();
      if (reply.ok) pending.resolve();
      else pending.reject(Object.assign(new Error(reply.message), { code: reply.code }));
    });
    const fail = (error: Error) => {
      if (this.#worker === worker) this.#worker = null;
      const pending = [...this.#pending.values()];
      this.#pending.clear();
      for (const p of pending) p.reject(error);
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the usage writer thread exited (code ${code})`)));
    return worker;
  }
}
