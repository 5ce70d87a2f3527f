import type { Kysely } from 'kysely';
import type { Dialect } from './index.ts';

/**
 * Calls whose cost is unknown: a gateway call to a model without a price has tokens but no
 * cost, and summing its NULL cost as 0 passed unknown off as free. Events say so
 * (`unpriced` 1), and the roll-ups count them beside the money (`unpriced_sum`), so that
 * every total can say how many calls it does not include. Rows written before were either
 * priced or not metered: 0.
 */
export function unpricedUsageMigration(dialect: Dialect) {
  const bigint = dialect === 'postgres' ? 'bigint' : 'integer';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .alterTable('usage_events')
        .addColumn('unpriced', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .alterTable('usage_rollups')
        .addColumn('unpriced_sum', bigint, (c) => c.notNull().defaultTo(0))
        .execute();
    },
  };
}
