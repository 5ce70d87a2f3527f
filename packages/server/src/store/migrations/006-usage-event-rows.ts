import type { Kysely } from 'kysely';
import type { Dialect } from './index.ts';

/**
 * Raw usage events, made cheaper to write (the most written table of a node):
 * - `count`: a row may stand for several identical events of the same second
 *   (usage/group.ts); rows written before are single events, hence the default 1.
 * - One index, (key_id, at). Every query that serves users reads the roll-ups, which have
 *   their own per-owner and per-project indexes; the events' (owner_id, at) and
 *   (project_id, at) indexes were paid on every write (a third of the SQLite writer's time)
 *   and read by nothing but tests. Filtering raw events by owner or project still works, by
 *   scanning.
 */
export function usageEventRowsMigration(dialect: Dialect) {
  const bigint = dialect === 'postgres' ? 'bigint' : 'integer';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .alterTable('usage_events')
        .addColumn('count', bigint, (c) => c.notNull().defaultTo(1))
        .execute();
      await db.schema.dropIndex('usage_events_owner_id_at_idx').ifExists().execute();
      await db.schema.dropIndex('usage_events_project_id_at_idx').ifExists().execute();
    },
  };
}
