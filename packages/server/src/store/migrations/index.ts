import { type Kysely, type Migration, type MigrationProvider, Migrator } from 'kysely';
import { initialMigration } from './001-initial.ts';
import { usageMigration } from './002-usage.ts';
import { limitsMigration } from './003-limits.ts';
import { rotationAndLeaksMigration } from './004-rotation-and-leaks.ts';
import { gatewayMigration } from './005-gateway.ts';
import { usageEventRowsMigration } from './006-usage-event-rows.ts';
import { unpricedUsageMigration } from './007-unpriced-usage.ts';
import { keyRevisionsMigration } from './008-key-revisions.ts';
import { ByteOrderTextPlugin } from './byte-order-text.ts';

export type Dialect = 'sqlite' | 'postgres';

/**
 * Versioned migrations, applied in name order at start. Kysely's migrator takes a lock
 * (a session-level `pg_advisory_lock` on PostgreSQL, held around one transaction that runs
 * every pending migration), so several nodes starting together migrate once.
 * Never edit a migration that has shipped: add the next one.
 */
function migrations(dialect: Dialect): Record<string, Migration> {
  return {
    '001-initial': initialMigration(dialect),
    '002-usage': usageMigration(dialect),
    '003-limits': limitsMigration(dialect),
    '004-rotation-and-leaks': rotationAndLeaksMigration(dialect),
    '005-gateway': gatewayMigration(dialect),
    '006-usage-event-rows': usageEventRowsMigration(dialect),
    '007-unpriced-usage': unpricedUsageMigration(dialect),
    '008-key-revisions': keyRevisionsMigration(dialect),
  };
}

export async function migrateToLatest(db: Kysely<unknown>, dialect: Dialect): Promise<string[]> {
  const provider: MigrationProvider = { getMigrations: async () => migrations(dialect) };
  // PostgreSQL: text columns compare byte-wise, as on SQLite (see byte-order-text.ts).
  const target = dialect === 'postgres' ? db.withPlugin(new ByteOrderTextPlugin()) : db;
  const migrator = new Migrator({ db: target, provider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
