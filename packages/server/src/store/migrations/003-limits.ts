import type { Kysely } from 'kysely';
import type { Dialect } from './index.ts';

/**
 * Rate limits and credits on keys, shared limits and credits on owners, and per-project,
 * per-environment default limits that a key without its own inherits.
 * `ratelimits` NULL on a key means "inherit"; `[]` means "no limits".
 */
export function limitsMigration(dialect: Dialect) {
  const bigint = dialect === 'postgres' ? 'bigint' : 'integer';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('keys').addColumn('ratelimits', 'text').execute();
      await db.schema.alterTable('keys').addColumn('credits_remaining', bigint).execute();
      await db.schema.alterTable('keys').addColumn('credits_refill', 'text').execute();
      await db.schema.alterTable('keys').addColumn('credits_refilled_at', bigint).execute();
      await db.schema
        .alterTable('projects')
        .addColumn('ratelimit_defaults', 'text', (c) => c.notNull().defaultTo('{}'))
        .execute();
      await db.schema
        .createTable('owners')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('ratelimits', 'text')
        .addColumn('credits_remaining', bigint)
        .addColumn('credits_refill', 'text')
        .addColumn('credits_refilled_at', bigint)
        .addColumn('created_at', bigint, (c) => c.notNull())
        .addColumn('updated_at', bigint, (c) => c.notNull())
        .execute();
    },
  };
}
