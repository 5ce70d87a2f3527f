import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import {
  CompiledQuery,
  type DatabaseConnection,
  Kysely,
  type QueryResult,
  SqliteDialect,
  type SqliteDialectConfig,
  SqliteDriver,
} from 'kysely';
import { createKyselyStore } from './kysely-store.ts';
import { migrateToLatest } from './migrations/index.ts';
import type { Database } from './schema.ts';
import type { Store } from './types.ts';
import { SqliteUsageWriter, sqliteUsageStatements } from './usage-sqlite.ts';

/** How long a statement on the main connection waits for SQLite's write lock. */
const LOCK_WAIT_MS = 5000;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The main connection waits for the write lock without blocking the event loop. The usage
 * writer thread is a second writer on the file: while it commits a batch, a write here would
 * sit in SQLite's busy handler, which sleeps the whole thread (and every request with it) in
 * steps of up to 100 ms. Instead the connection runs with `busy_timeout = 0`, and a statement
 * that meets the lock (SQLITE_BUSY: it did nothing) is retried every millisecond from the
 * event loop, for up to LOCK_WAIT_MS, then fails as it would have.
 */
class LockWaitingConnection implements DatabaseConnection {
  readonly #inner: DatabaseConnection;
  constructor(inner: DatabaseConnection) {
    this.#inner = inner;
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (;;) {
      try {
        return await this.#inner.executeQuery<R>(query);
      } catch (error) {
        if ((error as { code?: unknown }).code !== 'SQLITE_BUSY' || Date.now() >= deadline) {
          throw error;
        }
        await sleep(1);
      }
    }
  }

  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.#inner.streamQuery<R>(query, chunkSize);
  }
}

/**
 * Transactions take the write lock when they begin (`BEGIN IMMEDIATE`): a deferred one that
 * read first and then wrote after the usage writer thread committed would fail at once with
 * SQLITE_BUSY_SNAPSHOT, where an immediate one waits for the lock (above) and then holds it.
 */
class MainConnectionDriver extends SqliteDriver {
  #connection: LockWaitingConnection | undefined;

  override async acquireConnection(): Promise<DatabaseConnection> {
    const inner = await super.acquireConnection();
    this.#connection ??= new LockWaitingConnection(inner);
    return this.#connection;
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class MainConnectionDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;
  constructor(config: SqliteDialectConfig) {
    super(config);
    this.#config = config;
  }
  override createDriver(): SqliteDriver {
    return new MainConnectionDriver(this.#config);
  }
}

/**
 * The embedded default: one SQLite file in WAL mode. better-sqlite3 is synchronous and
 * Kysely's SQLite dialect runs every query on one connection, so transactions are
 * naturally serialised (SQLite has one writer anyway). The one other writer is the usage
 * writer thread (`usage-sqlite.ts`), which only inserts usage rows; transactions here begin
 * immediate and wait for its lock from the event loop (`LockWaitingConnection`).
 */
export async function openSqliteStore(file: string): Promise<Store> {
  if (file !== ':memory:') ownerOnly(file);
  const database = new SQLite(file);
  database.pragma('journal_mode = WAL');
  // NORMAL is durable across application crashes in WAL mode; only a power loss can
  // drop the last transactions. Foreign keys are off by default in SQLite.
  database.pragma('synchronous = NORMAL');
  database.pragma('foreign_keys = ON');
  // Lock waits happen in LockWaitingConnection, off SQLite's sleeping busy handler.
  database.pragma('busy_timeout = 0');
  const db = new Kysely<Database>({ dialect: new MainConnectionDialect({ database }) });
  await migrateToLatest(db as Kysely<unknown>, 'sqlite');
  // Runs on Kysely's single connection, inside the usage batch's transaction (Kysely holds
  // the connection for the whole transaction, and each run is synchronous).
  const { insertEvents } = sqliteUsageStatements(database);
  const store = createKyselyStore(
    db,
    { backend: 'sqlite', lockAuditChain: async () => {}, insertUsageEvents: insertEvents },
    async () => {},
  );
  // A file can be opened a second time, by the usage writer thread; a memory database cannot.
  if (file !== ':memory:') store.usage.openBatchWriter = () => new SqliteUsageWriter(file);
  return store;
}

/**
 * The store holds keyed hashes, encrypted upstream keys and the audit log: readable by the
 * server's user only. The directory is made 0700 when created; the database file is created
 * 0600 before SQLite opens it, because SQLite gives its `-wal` and `-shm` files the database
 * file's permissions; and a store from an older version (0644 by the default umask) is
 * tightened when opened.
 */
function ownerOnly(file: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  if (!existsSync(file)) closeSync(openSync(file, 'a', 0o600));
  for (const path of [file, `${file}-wal`, `${file}-shm`]) {
    if (existsSync(path)) chmodSync(path, 0o600);
  }
}
