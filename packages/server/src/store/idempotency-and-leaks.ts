import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Database, LeaksTable } from './schema.ts';
import type { IdempotencyRepository, LeakRecord, LeakRepository } from './types.ts';

type Executor = Kysely<Database> | Transaction<Database>;

export function idempotencyRepository(db: Executor): IdempotencyRepository {
  return {
    async find(scope, idempotencyKey) {
      const row = await db
        .selectFrom('idempotency')
        .selectAll()
        .where('scope', '=', scope)
        .where('idempotency_key', '=', idempotencyKey)
        .executeTakeFirst();
      return row
        ? {
            scope: row.scope,
            idempotencyKey: row.idempotency_key,
            requestHash: row.request_hash,
            status: row.status,
            response: row.response,
            createdAt: Number(row.created_at),
          }
        : null;
    },
    async insert(r) {
      await db
        .insertInto('idempotency')
        .values({
          scope: r.scope,
          idempotency_key: r.idempotencyKey,
          request_hash: r.requestHash,
          status: r.status,
          response: r.response,
          created_at: r.createdAt,
        })
        .execute();
    },
    async delete(scope, idempotencyKey) {
      await db
        .deleteFrom('idempotency')
        .where('scope', '=', scope)
        .where('idempotency_key', '=', idempotencyKey)
        .execute();
    },
    async deleteBefore(ms) {
      const result = await db
        .deleteFrom('idempotency')
        .where('created_at', '<', ms)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

function leakFromRow(row: Selectable<LeaksTable>): LeakRecord {
  return {
    id: row.id,
    reporter: row.reporter as LeakRecord['reporter'],
    tokenHash: row.token_hash,
    tokenType: row.token_type,
    url: row.url,
    source: row.source,
    keyId: row.key_id,
    action: row.action as LeakRecord['action'],
    reportedAt: Number(row.reported_at),
  };
}

export function leakRepository(db: Executor): LeakRepository {
  return {
    async insertIfNew(leak) {
      const result = await db
        .insertInto('leaks')
        .values({
          id: leak.id,
          reporter: leak.reporter,
          token_hash: leak.tokenHash,
          token_type: leak.tokenType,
          url: leak.url,
          source: leak.source,
          key_id: leak.keyId,
          action: leak.action,
          reported_at: leak.reportedAt,
        })
        .onConflict((oc) => oc.columns(['reporter', 'token_hash', 'url']).doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
    },
    async listForKey(keyId) {
      const rows = await db
        .selectFrom('leaks')
        .selectAll()
        .where('key_id', '=', keyId)
        .orderBy('reported_at', 'desc')
        .execute();
      return rows.map(leakFromRow);
    },
    async list(limit) {
      const rows = await db
        .selectFrom('leaks')
        .selectAll()
        .orderBy('reported_at', 'desc')
        .limit(limit)
        .execute();
      return rows.map(leakFromRow);
    },
  };
}
