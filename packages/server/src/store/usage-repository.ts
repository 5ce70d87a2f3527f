import type { Kysely, Selectable, Transaction } from 'kysely';
import { groupUsageEvents, type UsageEventGroup } from '../usage/group.ts';
import type { UsageBatchWriter } from '../usage/recorder.ts';
import { rollUp } from '../usage/rollup.ts';
import { usageText } from '../usage/text.ts';
import type {
  StoredUsageEvent,
  UsageBucket,
  UsageEvent,
  UsageEventFilter,
  UsageQuery,
} from '../usage/types.ts';
import type { VerifyCode } from '../verify/codes.ts';
import type { Database, UsageEventsTable } from './schema.ts';

/**
 * Usage events and their per-minute, -hour and -day roll-ups. Portable Kysely only: the
 * same statements run on SQLite and PostgreSQL (`on conflict … do update` exists on both).
 */
export interface UsageRepository {
  /**
   * Inserts the events and adds them to the roll-ups, in one transaction (the caller's, when
   * called inside `store.transaction`): a batch lands whole or not at all. Routes and user
   * agents are redacted and cut to 200 characters here, whoever the caller is.
   */
  insertBatch(events: readonly UsageEvent[]): Promise<void>;
  /** Roll-up buckets starting in `[from, to)`, oldest first; empty buckets are left out. */
  query(query: UsageQuery): Promise<UsageBucket[]>;
  /**
   * Raw event rows in insertion order, for tests and exports: identical events of one second
   * share a row (`count`, see usage/group.ts).
   */
  listEvents(
    filter: UsageEventFilter & { afterId?: number; limit: number },
  ): Promise<StoredUsageEvent[]>;
  /** Events (not rows) matching the filter. */
  countEvents(filter: UsageEventFilter): Promise<number>;
  /**
   * A writer that takes batches in columns and writes them off the caller's thread, where the
   * backend has one (SQLite on a file: a worker thread with its own connection). Absent on
   * PostgreSQL, whose writes are asynchronous I/O already, and on an in-memory database.
   * Each call opens a new writer; its owner closes it.
   */
  openBatchWriter?(): UsageBatchWriter;
}

type Executor = Kysely<Database> | Transaction<Database>;

/**
 * Rows per insert statement: 18 parameters a row stays far below SQLite's 32,766 and
 * PostgreSQL's 65,535 bound parameters per statement.
 */
export const USAGE_INSERT_CHUNK = 500;

const toNullableNumber = (v: number | string | bigint | null): number | null =>
  v === null ? null : Number(v);

function eventFromRow(row: Selectable<UsageEventsTable>): StoredUsageEvent {
  return {
    id: Number(row.id),
    at: Number(row.at),
    keyId: row.key_id,
    projectId: row.project_id,
    ownerId: row.owner_id,
    env: row.env,
    outcome: row.outcome as VerifyCode,
    entryPoint: row.entry_point as StoredUsageEvent['entryPoint'],
    route: row.route,
    status: Number(row.status),
    latencyMs: Number(row.latency_ms),
    clientIp: row.client_ip,
    userAgent: row.user_agent,
    cost: Number(row.cost),
    tokensIn: toNullableNumber(row.tokens_in),
    tokensOut: toNullableNumber(row.tokens_out),
    costMicros: toNullableNumber(row.cost_micros),
    ...(Number(row.unpriced) === 1 && { unpriced: true }),
    count: Number(row.count),
  };
}

function* chunks<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

/** Lets requests waiting on the event loop run between chunks: a big flush must not stall them. */
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * A backend's faster way to write raw event rows, called inside the batch's transaction (on
 * the SQLite backend: one prepared statement run per row on the transaction's own
 * connection, instead of building and preparing a 500-row INSERT for every chunk).
 */
export type RawEventInserter = (rows: readonly UsageEventGroup[]) => void;

async function insertIn(
  trx: Transaction<Database>,
  events: readonly UsageEvent[],
  raw?: RawEventInserter,
) {
  for (const chunk of chunks(groupUsageEvents(events), USAGE_INSERT_CHUNK)) {
    await yieldToEventLoop();
    if (raw) {
      raw(chunk);
      continue;
    }
    await trx
      .insertInto('usage_events')
      .values(
        chunk.map((e) => ({
          at: e.at,
          key_id: e.keyId,
          project_id: e.projectId,
          owner_id: e.ownerId,
          env: e.env,
          outcome: e.outcome,
          entry_point: e.entryPoint,
          route: usageText(e.route),
          status: e.status,
          latency_ms: e.latencyMs,
          client_ip: e.clientIp,
          user_agent: usageText(e.userAgent),
          cost: e.cost,
          tokens_in: e.tokensIn,
          tokens_out: e.tokensOut,
          cost_micros: e.costMicros,
          count: e.count,
          unpriced: e.unpriced ? 1 : 0,
        })),
      )
      .execute();
  }
  // From the events themselves, not the rows: the roll-ups' latency sums stay exact.
  for (const chunk of chunks(rollUp(events), USAGE_INSERT_CHUNK)) {
    await trx
      .insertInto('usage_rollups')
      .values(
        chunk.map((d) => ({
          granularity: d.granularity,
          bucket_start: d.bucketStart,
          key_id: d.keyId,
          owner_id: d.ownerId,
          project_id: d.projectId,
          env: d.env,
          outcome: d.outcome,
          count: d.count,
          cost_sum: d.costSum,
          tokens_in_sum: d.tokensInSum,
          tokens_out_sum: d.tokensOutSum,
          cost_micros_sum: d.costMicrosSum,
          unpriced_sum: d.unpricedSum,
          latency_ms_sum: d.latencyMsSum,
        })),
      )
      .onConflict((oc) =>
        oc
          .columns([
            'granularity',
            'bucket_start',
            'key_id',
            'owner_id',
            'project_id',
            'env',
            'outcome',
          ])
          // Qualified: an unqualified column would be ambiguous with `excluded` on PostgreSQL.
          .doUpdateSet((eb) => ({
            count: eb('usage_rollups.count', '+', eb.ref('excluded.count')),
            cost_sum: eb('usage_rollups.cost_sum', '+', eb.ref('excluded.cost_sum')),
            tokens_in_sum: eb('usage_rollups.tokens_in_sum', '+', eb.ref('excluded.tokens_in_sum')),
            tokens_out_sum: eb(
              'usage_rollups.tokens_out_sum',
              '+',
              eb.ref('excluded.tokens_out_sum'),
            ),
            cost_micros_sum: eb(
              'usage_rollups.cost_micros_sum',
              '+',
              eb.ref('excluded.cost_micros_sum'),
            ),
            unpriced_sum: eb('usage_rollups.unpriced_sum', '+', eb.ref('excluded.unpriced_sum')),
            latency_ms_sum: eb(
              'usage_rollups.latency_ms_sum',
              '+',
              eb.ref('excluded.latency_ms_sum'),
            ),
          })),
      )
      .execute();
  }
}

export function usageRepository(db: Executor, raw?: RawEventInserter): UsageRepository {
  const filtered = (filter: UsageEventFilter) => {
    let query = db.selectFrom('usage_events');
    if (filter.keyId !== undefined) query = query.where('key_id', '=', filter.keyId);
    if (filter.ownerId !== undefined) query = query.where('owner_id', '=', filter.ownerId);
    if (filter.projectId !== undefined) query = query.where('project_id', '=', filter.projectId);
    if (filter.env !== undefined) query = query.where('env', '=', filter.env);
    if (filter.outcome !== undefined) query = query.where('outcome', '=', filter.outcome);
    if (filter.from !== undefined) query = query.where('at', '>=', filter.from);
    if (filter.to !== undefined) query = query.where('at', '<', filter.to);
    return query;
  };

  return {
    async insertBatch(events) {
      if (events.length === 0) return;
      if (db.isTransaction) await insertIn(db as Transaction<Database>, events, raw);
      else await db.transaction().execute((trx) => insertIn(trx, events, raw));
    },

    async query(q) {
      let query = db
        .selectFrom('usage_rollups')
        .where('granularity', '=', q.granularity)
        .where('bucket_start', '>=', q.from)
        .where('bucket_start', '<', q.to);
      if (q.keyId !== undefined) query = query.where('key_id', '=', q.keyId);
      if (q.ownerId !== undefined) query = query.where('owner_id', '=', q.ownerId);
      if (q.projectId !== undefined) query = query.where('project_id', '=', q.projectId);
      if (q.env !== undefined) query = query.where('env', '=', q.env);
      if (q.outcome !== undefined) query = query.where('outcome', '=', q.outcome);
      const byOutcome = q.groupBy === 'outcome';
      const rows = await query
        .select((eb) => [
          'bucket_start',
          eb.fn.sum<number | string>('count').as('count'),
          eb.fn.sum<number | string>('cost_sum').as('cost'),
          eb.fn.sum<number | string>('tokens_in_sum').as('tokens_in'),
          eb.fn.sum<number | string>('tokens_out_sum').as('tokens_out'),
          eb.fn.sum<number | string>('cost_micros_sum').as('cost_micros'),
          eb.fn.sum<number | string>('unpriced_sum').as('unpriced'),
          eb.fn.sum<number | string>('latency_ms_sum').as('latency_ms'),
        ])
        .groupBy('bucket_start')
        .orderBy('bucket_start')
        .$if(byOutcome, (qb) => qb.select('outcome').groupBy('outcome').orderBy('outcome'))
        .execute();
      return rows.map((row) => {
        const count = Number(row.count);
        return {
          bucketStart: Number(row.bucket_start),
          ...(byOutcome && { outcome: row.outcome as VerifyCode }),
          count,
          cost: Number(row.cost),
          tokensIn: Number(row.tokens_in),
          tokensOut: Number(row.tokens_out),
          costMicros: Number(row.cost_micros),
          unpriced: Number(row.unpriced),
          latencyMsAvg: count === 0 ? 0 : Number(row.latency_ms) / count,
        };
      });
    },

    async listEvents({ afterId, limit, ...filter }) {
      let query = filtered(filter).selectAll();
      if (afterId !== undefined) query = query.where('id', '>', afterId);
      const rows = await query.orderBy('id').limit(limit).execute();
      return rows.map(eventFromRow);
    },

    async countEvents(filter) {
      const row = await filtered(filter)
        .select((eb) => eb.fn.sum<number | string | null>('count').as('n'))
        .executeTakeFirstOrThrow();
      return Number(row.n ?? 0);
    },
  };
}
