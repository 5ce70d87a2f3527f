import type { Kysely } from 'kysely';

/**
 * Raw usage events keep one index, (key_id, at): every query that serves users reads the
 * roll-ups (which have their own per-owner and per-project indexes), and the events table is
 * the most written table of a node, where each index is paid on every verification (on
 * SQLite, the owner and project indexes took a third of the usage writer's time). Filtering
 * raw events by owner or project (tests, exports) still works, by scanning.
 */
export function usageEventIndexesMigration() {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropIndex('usage_events_owner_id_at_idx').ifExists().execute();
      await db.schema.dropIndex('usage_events_project_id_at_idx').ifExists().execute();
    },
  };
}
