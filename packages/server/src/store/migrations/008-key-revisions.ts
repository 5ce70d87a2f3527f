import { type Kysely, sql } from 'kysely';
import type { Dialect } from './index.ts';

/**
 * Key revisions: every change to a key row (insert, update, delete) takes the next value of
 * one store-wide counter, and the invalidation it publishes carries it. A node's cache uses
 * it to tell a load that read the row before the change (older revision: never cached) from
 * one that read it after; acknowledgements of revocations reuse the same numbers.
 *
 * A one-row table rather than a PostgreSQL sequence: key changes already serialise on the
 * audit chain's lock, so the row lock costs nothing more, and a counter taken under it
 * follows commit order (a sequence's values do not), on both backends with one code path.
 */
export function keyRevisionsMigration(dialect: Dialect) {
  const bigint = dialect === 'postgres' ? 'bigint' : 'integer';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .alterTable('keys')
        .addColumn('revision', bigint, (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .createTable('revisions')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('value', bigint, (c) => c.notNull())
        .execute();
      await sql`insert into revisions (id, value) values (1, 0)`.execute(db);
    },
  };
}
