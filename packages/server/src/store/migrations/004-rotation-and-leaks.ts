import type { Kysely } from 'kysely';
import type { Dialect } from './index.ts';

/**
 * Rotation lineage (rotated_to_id), per-project rotation policy and leak policy, idempotency
 * records for retried mutations, and the record of reported leaks.
 */
export function rotationAndLeaksMigration(dialect: Dialect) {
  const bigint = dialect === 'postgres' ? 'bigint' : 'integer';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('keys').addColumn('rotated_to_id', 'text').execute();
      await db.schema
        .alterTable('projects')
        .addColumn('rotation_policy', 'text', (c) => c.notNull().defaultTo('{}'))
        .execute();
      await db.schema
        .alterTable('projects')
        .addColumn('revoke_on_leak', 'integer', (c) => c.notNull().defaultTo(1))
        .execute();
      await db.schema
        .createTable('idempotency')
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('idempotency_key', 'text', (c) => c.notNull())
        .addColumn('request_hash', 'text', (c) => c.notNull())
        .addColumn('status', 'integer', (c) => c.notNull())
        .addColumn('response', 'text', (c) => c.notNull())
        .addColumn('created_at', bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint('idempotency_pk', ['scope', 'idempotency_key'])
        .execute();
      await db.schema
        .createIndex('idempotency_created_idx')
        .on('idempotency')
        .columns(['created_at'])
        .execute();
      await db.schema
        .createTable('leaks')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('reporter', 'text', (c) => c.notNull())
        .addColumn('token_hash', 'text', (c) => c.notNull())
        .addColumn('token_type', 'text', (c) => c.notNull())
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('key_id', 'text')
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('reported_at', bigint, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('leaks_report_idx')
        .on('leaks')
        .columns(['reporter', 'token_hash', 'url'])
        .unique()
        .execute();
      await db.schema.createIndex('leaks_key_idx').on('leaks').columns(['key_id']).execute();
    },
  };
}
