import {
  Kysely,
  type PostgresCursor,
  PostgresDialect,
  type PostgresPool,
  type PostgresPoolClient,
  type PostgresQueryResult,
  sql,
  type Transaction,
} from 'kysely';
import pg from 'pg';
import { withDeadline } from '../clock/index.ts';
import { createKyselyStore } from './kysely-store.ts';
import { migrateToLatest } from './migrations/index.ts';
import type { Database } from './schema.ts';
import type { Store } from './types.ts';

/**
 * The cluster store: PostgreSQL through a `pg.Pool`, with the same Kysely code as SQLite
 * (kysely-store.ts). Several nodes share one database:
 * - migrations run at start under Kysely's migration lock (a session-level
 *   `pg_advisory_lock`, taken on one connection around one transaction), so nodes starting
 *   together migrate once;
 * - audit appends serialise on a transaction-level advisory lock, so the hash chain stays
 *   one unbroken line whatever node writes;
 * - every wait is bounded: connecting (or waiting for a pooled connection), each statement
 *   on the server, and the reply on the client, so `ping()` and requests fail instead of
 *   hanging while PostgreSQL is down, and the pool reconnects by itself when it is back.
 */
export interface PostgresStoreOptions {
  /** Connections in this node's pool (default 10). */
  poolSize?: number;
  /** How long to wait for a connection, new or from a busy pool (default 2000 ms). */
  connectionTimeoutMs?: number;
  /**
   * Server-side limit per statement (default 30 s). The client waits as long again (at most
   * 5 s more) for a reply, then gives the query up and drops its connection: a connection
   * whose peer vanished (network loss, host crash) never answers.
   */
  statementTimeoutMs?: number;
  /** How long `ping()` waits for `select 1` (default 2000 ms). */
  pingTimeoutMs?: number;
  /**
   * Errors of idle pooled connections (the server restarted, the network dropped). They are
   * reported here, never thrown: the pool drops the connection and opens a new one on demand.
   */
  onError?: (error: Error) => void;
}

const INT8_OID = 20;
/** `pg_advisory_xact_lock` key for the audit chain: the bytes of `kw-audit`. */
const AUDIT_CHAIN_LOCK = '7743707980891449716';

/**
 * int8 (`bigint` columns, `count(*)`) as JS numbers, for this pool only (`types` is a
 * per-client override; the global `pg.types` stays untouched for other users of `pg`).
 * Millisecond timestamps, counts and credit balances stay far below 2^53; a value beyond it
 * fails the query rather than silently losing precision. `sum()` over int8 is `numeric`
 * (a string), which the repositories convert with `Number()`.
 */
function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n))
    throw new RangeError(`int8 ${text} exceeds Number.MAX_SAFE_INTEGER`);
  return n;
}

const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary'
      ? parseInt8
      : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/** Where a URL points, without its password: for error messages. */
function describeUrl(url: string): string {
  const u = new URL(url);
  return `${u.username ? `${u.username}@` : ''}${u.host || 'localhost'}${u.pathname}`;
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

export class NoReplyError extends Error {
  constructor(ms: number) {
    super(`PostgreSQL did not answer within ${ms} ms`);
    this.name = 'NoReplyError';
  }
}

/** The reply, or a NoReplyError after `ms` (a late reply is then ignored). */
function replyWithin<T>(reply: Promise<T>, ms: number): Promise<T> {
  return withDeadline(reply, ms, () => new NoReplyError(ms));
}

/**
 * A pooled connection as Kysely sees it, with a reply deadline per query. A query that
 * gets no reply in time marks its connection broken, and releasing a broken connection
 * removes it from the pool (which closes its socket) instead of handing it to the next
 * caller, whose query would queue behind the lost one.
 */
class GuardedClient implements PostgresPoolClient {
  #broken: Error | undefined;
  constructor(
    readonly client: pg.PoolClient,
    readonly replyTimeoutMs: number,
  ) {}

  query<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>>;
  query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
  query<R>(
    text: string | PostgresCursor<R>,
    parameters: ReadonlyArray<unknown> = [],
  ): Promise<PostgresQueryResult<R>> | PostgresCursor<R> {
    if (typeof text !== 'string') throw new Error('cursors are not supported by this store');
    return this.#run<R>(text, parameters);
  }

  async #run<R>(text: string, parameters: ReadonlyArray<unknown>) {
    try {
      const result = await replyWithin(
        this.client.query({ text, values: [...parameters] }),
        this.replyTimeoutMs,
      );
      return {
        command: result.command as PostgresQueryResult<R>['command'],
        rowCount: result.rowCount ?? 0,
        rows: result.rows as R[],
      };
    } catch (error) {
      if (error instanceof NoReplyError) this.#broken = error;
      throw error;
    }
  }

  release(destroy?: boolean): void {
    this.client.release(this.#broken ?? destroy === true);
  }
}

class GuardedPool implements PostgresPool {
  readonly #clients = new WeakMap<pg.PoolClient, GuardedClient>();
  #ended: Promise<void> | undefined;
  constructor(
    readonly pool: pg.Pool,
    readonly replyTimeoutMs: number,
  ) {}

  async connect(): Promise<PostgresPoolClient> {
    const client = await this.pool.connect();
    let guarded = this.#clients.get(client);
    if (!guarded) {
      guarded = new GuardedClient(client, this.replyTimeoutMs);
      this.#clients.set(client, guarded);
    }
    return guarded;
  }

  /** Idempotent: Kysely's destroy and the store's close may both end the pool. */
  end(): Promise<void> {
    this.#ended ??= this.pool.end();
    return this.#ended;
  }
}

/** One short round trip on a pooled connection; a connection that fails it is dropped. */
async function pingPool(pool: pg.Pool, timeoutMs: number): Promise<void> {
  const client = await pool.connect();
  let failure: Error | undefined;
  try {
    await replyWithin(client.query('select 1'), timeoutMs);
  } catch (error) {
    failure = error instanceof Error ? error : new Error(String(error));
    throw failure;
  } finally {
    client.release(failure);
  }
}

/**
 * Migrations run on a short-lived pool of their own, without the statement timeout: a
 * migration (an index on a large table) may take minutes, and a node that starts meanwhile
 * waits on Kysely's migration lock for as long instead of failing its start.
 */
async function migrate(url: string, connectionTimeoutMs: number): Promise<void> {
  const pool = new pg.Pool({
    connectionString: url,
    max: 2,
    connectionTimeoutMillis: connectionTimeoutMs,
    application_name: 'keywarden-migrate',
    types,
  });
  pool.on('error', () => {}); // an idle connection's failure surfaces as a query error
  const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) });
  try {
    await migrateToLatest(db, 'postgres');
  } finally {
    await db.destroy().catch(() => {});
    if (!pool.ending) await pool.end().catch(() => {});
  }
}

export async function openPostgresStore(
  url: string,
  options: PostgresStoreOptions = {},
): Promise<Store> {
  let where: string;
  try {
    where = describeUrl(url);
  } catch {
    // Never echo the URL: it may hold a password.
    throw new Error('the PostgreSQL database URL is not a valid URL');
  }
  const connectionTimeoutMs = options.connectionTimeoutMs ?? 2000;
  const statementTimeoutMs = options.statementTimeoutMs ?? 30_000;
  const pingTimeoutMs = options.pingTimeoutMs ?? 2000;
  const onError = options.onError ?? (() => {});

  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: connectionTimeoutMs,
    idleTimeoutMillis: 30_000,
    statement_timeout: statementTimeoutMs,
    // A node that stalls inside a transaction must not hold row locks (or the audit lock)
    // for long; the server ends such a session.
    idle_in_transaction_session_timeout: 60_000,
    keepAlive: true,
    application_name: 'keywarden',
    types,
  });
  // Idle connections that fail (server restart, network loss): the pool drops them and
  // emits here; unhandled, the 'error' event would end the process.
  pool.on('error', (error) => onError(error));
  // A connection that fails while checked out errors its pending query (that is how the
  // caller learns); this listener only keeps the same event from ending the process.
  pool.on('connect', (client) => {
    client.on('error', () => {});
  });

  const guarded = new GuardedPool(pool, statementTimeoutMs + Math.min(statementTimeoutMs, 5000));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: guarded }) });
  const fail = async (what: string, error: unknown): Promise<never> => {
    await db.destroy().catch(() => {});
    await guarded.end().catch(() => {});
    throw new Error(`${what} PostgreSQL at ${where}: ${messageOf(error)}`, { cause: error });
  };

  try {
    await pingPool(pool, connectionTimeoutMs);
  } catch (error) {
    return fail('cannot connect to', error);
  }
  try {
    await migrate(url, connectionTimeoutMs);
  } catch (error) {
    return fail('migrations failed on', error);
  }

  const store = createKyselyStore(
    db,
    {
      backend: 'postgres',
      // Serialises appends across connections and nodes until the transaction ends. Read
      // committed: the next statement (reading the chain's last entry) sees the previous
      // holder's committed entry.
      async lockAuditChain(trx: Transaction<Database>) {
        await sql`select pg_advisory_xact_lock(${sql.raw(AUDIT_CHAIN_LOCK)})`.execute(trx);
      },
    },
    () => guarded.end(),
  );
  return { ...store, ping: () => pingPool(pool, pingTimeoutMs) };
}
