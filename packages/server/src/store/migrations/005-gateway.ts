import type { Kysely } from 'kysely';
import type { Dialect } from './index.ts';

/**
 * The gateway: upstreams (the APIs behind `/gw/{name}/…`, with their sealed secrets), and
 * model allowlists and money budgets on keys and owners. JSON columns are text, as in
 * 001–004; rows that exist already get NULL ("any model", "no budget of its own").
 */
export function gatewayMigration(dialect: Dialect) {
  const bigint = dialect === 'postgres' ? 'bigint' : 'integer';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('upstreams')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('base_url', 'text', (c) => c.notNull())
        .addColumn('secret_sealed', 'text')
        .addColumn('secret_hint', 'text')
        .addColumn('auth_header', 'text', (c) => c.notNull())
        .addColumn('auth_scheme', 'text')
        .addColumn('environments', 'text')
        .addColumn('timeouts', 'text', (c) => c.notNull())
        .addColumn('routes', 'text', (c) => c.notNull())
        .addColumn('prices', 'text', (c) => c.notNull())
        .addColumn('created_at', bigint, (c) => c.notNull())
        .addColumn('updated_at', bigint, (c) => c.notNull())
        .execute();
      await db.schema.alterTable('keys').addColumn('models', 'text').execute();
      await db.schema.alterTable('keys').addColumn('budgets', 'text').execute();
      await db.schema.alterTable('owners').addColumn('budgets', 'text').execute();
    },
  };
}
