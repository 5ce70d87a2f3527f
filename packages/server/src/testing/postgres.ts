import { randomBytes } from 'node:crypto';
import { after } from 'node:test';
import pg from 'pg';

/**
 * Fresh PostgreSQL databases for tests: one uniquely named database (`kw_test_<random>`) per
 * test file, created through the maintenance database and dropped afterwards, so test files
 * run in parallel without seeing each other's rows.
 *
 * The server comes from `KEYWARDEN_TEST_DATABASE_URL` (default
 * `postgres://postgres@127.0.0.1:5432/postgres`). The PostgreSQL tests never skip: when the
 * server is unreachable they fail, saying so (CI starts one).
 */
export const DEFAULT_TEST_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

export function maintenanceUrl(env: NodeJS.ProcessEnv = process.env): string {
  return env.KEYWARDEN_TEST_DATABASE_URL || DEFAULT_TEST_DATABASE_URL;
}

export interface TestDatabase {
  name: string;
  /** The new database's URL: the maintenance URL with the database name replaced. */
  url: string;
  /**
   * The database's default collation: `en-US` (ICU) where the server has ICU, which orders
   * text like most production databases (en_US.UTF-8) and unlike SQLite's byte order;
   * otherwise the server's default.
   */
  collation: string;
  /** Drops the database, ending connections still open to it. Safe to call twice. */
  drop(): Promise<void>;
}

export interface CreateTestDatabaseOptions {
  /** An ICU locale for the default collation, or `null` for the server's default. */
  icuLocale?: string | null;
}

/** Where a URL points, without its password: for messages. */
function describe(url: string): string {
  try {
    const u = new URL(url);
    return `${u.username ? `${u.username}@` : ''}${u.host || 'localhost'}${u.pathname}`;
  } catch {
    return '(an invalid URL)';
  }
}

async function maintenance<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const url = maintenanceUrl();
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  client.on('error', () => {}); // a dropped maintenance connection fails the pending query
  try {
    await client.connect();
  } catch (error) {
    throw new Error(
      `PostgreSQL for the tests is not reachable at ${describe(url)}: ${(error as Error).message}. ` +
        'Start PostgreSQL 15+ (CI does), or point KEYWARDEN_TEST_DATABASE_URL at one ' +
        `(default ${DEFAULT_TEST_DATABASE_URL}).`,
      { cause: error },
    );
  }
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => {});
  }
}

export async function createTestDatabase(
  options: CreateTestDatabaseOptions = {},
): Promise<TestDatabase> {
  const name = `kw_test_${randomBytes(6).toString('hex')}`;
  const ident = pg.escapeIdentifier(name);
  const wanted = options.icuLocale === undefined ? 'en-US' : options.icuLocale;
  const collation = await maintenance(async (client) => {
    const icu =
      wanted !== null &&
      (await client.query(`select 1 from pg_collation where collprovider = 'i' limit 1`))
        .rowCount === 1;
    if (icu) {
      await client.query(
        `create database ${ident} template template0 encoding 'UTF8' ` +
          `locale_provider icu icu_locale ${pg.escapeLiteral(wanted)}`,
      );
      return `${wanted} (ICU)`;
    }
    await client.query(`create database ${ident}`);
    const row = await client.query<{ datcollate: string }>(
      'select datcollate from pg_database where datname = $1',
      [name],
    );
    return row.rows[0]?.datcollate ?? 'default';
  });
  const url = new URL(maintenanceUrl());
  url.pathname = `/${name}`;
  let dropped: Promise<void> | undefined;
  return {
    name,
    url: url.toString(),
    collation,
    drop() {
      dropped ??= maintenance(async (client) => {
        await client.query(`drop database if exists ${ident} with (force)`);
      });
      return dropped;
    },
  };
}

/**
 * A fresh database for the calling test file (or suite, when called inside `describe`),
 * dropped after its tests.
 */
export async function useTestDatabase(options?: CreateTestDatabaseOptions): Promise<TestDatabase> {
  const database = await createTestDatabase(options);
  after(() => database.drop());
  return database;
}
