import { type Kysely, type Migration, type MigrationProvider, Migrator } from 'kysely';
import { initialMigration } from './001-initial.ts';
import { usageMigration } from './002-usage.ts';
import { limitsMigration } from './003-limits.ts';

export type Dialect = 'sqlite' | 'postgres';

/**
 * Versioned migrations, applied in name order at start. Kysely's migrator takes a lock
 * (an advisory lock on PostgreSQL), so several nodes starting together migrate once.
 * Never edit a migration that has shipped: add the next one.
 */
function migrations(dialect: Dialect): Record<string, Migration> {
  return {
    '001-initial': initialMigration(dialect),
    '002-usage': usageMigration(dialect),
    '003-limits': limitsMigration(dialect),
  };
}

export async function migrateToLatest(db: Kysely<unknown>, dialect: Dialect): Promise<string[]> {
  const provider: MigrationProvider = { getMigrations: async () => migrations(dialect) };
  const migrator = new Migrator({ db, provider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
