import type { Kysely } from 'kysely';
import type { Dialect } from './index.ts';

/**
 * Usage events and their roll-ups. Portable on purpose (the same statements run on SQLite
 * and PostgreSQL 15):
 * - the event id is SQLite's `integer primary key autoincrement` or PostgreSQL's identity
 *   column: insertion-ordered, never reused;
 * - the roll-up dimensions are NOT NULL with `''` for "none", and their primary key is the
 *   upsert target. NULLs would be distinct in the key, so `on conflict` would never fire for
 *   a key-less event; `''` behaves the same on both backends, where `NULLS NOT DISTINCT` or a
 *   COALESCE expression index would not.
 */
export function usageMigration(dialect: Dialect) {
  const bigint = dialect === 'postgres' ? 'bigint' : 'integer';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('usage_events')
        .addColumn('id', bigint, (c) =>
          dialect === 'postgres'
            ? c.primaryKey().generatedByDefaultAsIdentity()
            : c.primaryKey().autoIncrement(),
        )
        .addColumn('at', bigint, (c) => c.notNull())
        .addColumn('key_id', 'text')
        .addColumn('project_id', 'text')
        .addColumn('owner_id', 'text')
        .addColumn('env', 'text')
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('entry_point', 'text', (c) => c.notNull())
        .addColumn('route', 'text')
        .addColumn('status', 'integer', (c) => c.notNull())
        .addColumn('latency_ms', 'double precision', (c) => c.notNull())
        .addColumn('client_ip', 'text')
        .addColumn('user_agent', 'text')
        .addColumn('cost', bigint, (c) => c.notNull())
        .addColumn('tokens_in', bigint)
        .addColumn('tokens_out', bigint)
        .addColumn('cost_micros', bigint)
        .execute();
      for (const column of ['key_id', 'owner_id', 'project_id'] as const) {
        await db.schema
          .createIndex(`usage_events_${column}_at_idx`)
          .on('usage_events')
          .columns([column, 'at'])
          .execute();
      }

      await db.schema
        .createTable('usage_rollups')
        .addColumn('granularity', 'text', (c) => c.notNull())
        .addColumn('bucket_start', bigint, (c) => c.notNull())
        .addColumn('key_id', 'text', (c) => c.notNull())
        .addColumn('owner_id', 'text', (c) => c.notNull())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('env', 'text', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('count', bigint, (c) => c.notNull())
        .addColumn('cost_sum', bigint, (c) => c.notNull())
        .addColumn('tokens_in_sum', bigint, (c) => c.notNull())
        .addColumn('tokens_out_sum', bigint, (c) => c.notNull())
        .addColumn('cost_micros_sum', bigint, (c) => c.notNull())
        .addColumn('latency_ms_sum', 'double precision', (c) => c.notNull())
        .addPrimaryKeyConstraint('usage_rollups_pk', [
          'granularity',
          'bucket_start',
          'key_id',
          'owner_id',
          'project_id',
          'env',
          'outcome',
        ])
        .execute();
      // The primary key serves queries over all keys; these serve one key, owner or project.
      for (const column of ['key_id', 'owner_id', 'project_id'] as const) {
        await db.schema
          .createIndex(`usage_rollups_${column}_idx`)
          .on('usage_rollups')
          .columns(['granularity', column, 'bucket_start'])
          .execute();
      }
    },
  };
}
