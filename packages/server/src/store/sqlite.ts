import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { usageText } from '../usage/text.ts';
import type { UsageEvent } from '../usage/types.ts';
import { createKyselyStore } from './kysely-store.ts';
import { migrateToLatest } from './migrations/index.ts';
import type { Database } from './schema.ts';
import type { Store } from './types.ts';

/**
 * The embedded default: one SQLite file in WAL mode. better-sqlite3 is synchronous and
 * Kysely's SQLite dialect runs every query on one connection, so transactions are
 * naturally serialised (SQLite has one writer anyway).
 */
export async function openSqliteStore(file: string): Promise<Store> {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const database = new SQLite(file);
  database.pragma('journal_mode = WAL');
  // NORMAL is durable across application crashes in WAL mode; only a power loss can
  // drop the last transactions. Foreign keys are off by default in SQLite.
  database.pragma('synchronous = NORMAL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
  await migrateToLatest(db as Kysely<unknown>, 'sqlite');
  // Runs on Kysely's single connection, inside the usage batch's transaction (Kysely holds
  // the connection for the whole transaction, and each run is synchronous).
  const insertEvent = database.prepare(
    `insert into usage_events (at, key_id, project_id, owner_id, env, outcome, entry_point, route, status,
       latency_ms, client_ip, user_agent, cost, tokens_in, tokens_out, cost_micros)
     values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertUsageEvents = (events: readonly UsageEvent[]) => {
    for (const e of events) {
      insertEvent.run(
        e.at,
        e.keyId,
        e.projectId,
        e.ownerId,
        e.env,
        e.outcome,
        e.entryPoint,
        usageText(e.route),
        e.status,
        e.latencyMs,
        e.clientIp,
        usageText(e.userAgent),
        e.cost,
        e.tokensIn,
        e.tokensOut,
        e.costMicros,
      );
    }
  };
  return createKyselyStore(
    db,
    { backend: 'sqlite', lockAuditChain: async () => {}, insertUsageEvents },
    async () => {},
  );
}
