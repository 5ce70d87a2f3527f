import { type Kysely, type Selectable, sql, type Transaction } from 'kysely';
import { auditEntryHash, GENESIS_HASH } from './audit-chain.ts';
import { idempotencyRepository, leakRepository } from './idempotency-and-leaks.ts';
import type {
  AuditTable,
  Database,
  KeysTable,
  OwnersTable,
  ProjectsTable,
  UpstreamsTable,
} from './schema.ts';
import type {
  AuditEntry,
  AuditEntryInput,
  AuditRepository,
  KeyKind,
  KeyRecord,
  KeyRepository,
  KeyStatus,
  OwnerRecord,
  OwnerRepository,
  ProjectRecord,
  ProjectRepository,
  Repositories,
  Store,
  StoredCredits,
  UpstreamRecord,
  UpstreamRepository,
  UpstreamType,
} from './types.ts';
import { type RawEventInserter, usageRepository } from './usage-repository.ts';

/**
 * One Kysely implementation of the store for every SQL backend; the backends differ only
 * in how they connect and in `lockAuditChain`.
 */
type Executor = Kysely<Database> | Transaction<Database>;

export interface DialectHooks {
  backend: 'sqlite' | 'postgres';
  /** Serialises audit appends across connections (a no-op where the backend has one writer). */
  lockAuditChain(trx: Transaction<Database>): Promise<void>;
  /** Optional fast path for raw usage events (see usage-repository.ts). */
  insertUsageEvents?: RawEventInserter;
}

const toNumber = (v: number | string | bigint): number => Number(v);
const toNullableNumber = (v: number | string | bigint | null): number | null =>
  v === null ? null : Number(v);

function projectFromRow(row: Selectable<ProjectsTable>): ProjectRecord {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    environments: JSON.parse(row.environments) as string[],
    allowQueryKey: Boolean(row.allow_query_key),
    ratelimitDefaults: JSON.parse(row.ratelimit_defaults) as ProjectRecord['ratelimitDefaults'],
    rotationPolicy: JSON.parse(row.rotation_policy) as ProjectRecord['rotationPolicy'],
    revokeOnLeak: Boolean(row.revoke_on_leak),
    createdAt: toNumber(row.created_at),
    updatedAt: toNumber(row.updated_at),
  };
}

type CreditsColumns = Pick<
  KeysTable,
  'credits_remaining' | 'credits_refill' | 'credits_refilled_at'
>;

function creditsFromRow(row: Selectable<CreditsColumns>): StoredCredits | null {
  if (row.credits_remaining === null) return null;
  return {
    remaining: Number(row.credits_remaining),
    refill: row.credits_refill ? (JSON.parse(row.credits_refill) as StoredCredits['refill']) : null,
    refilledAt: Number(row.credits_refilled_at ?? 0),
  };
}

function creditsToColumns(credits: StoredCredits | null): CreditsColumns {
  return {
    credits_remaining: credits?.remaining ?? null,
    credits_refill: credits?.refill ? JSON.stringify(credits.refill) : null,
    credits_refilled_at: credits?.refilledAt ?? null,
  };
}

const ratelimitsFromText = (text: string | null) =>
  text === null ? null : (JSON.parse(text) as KeyRecord['ratelimits']);
const ratelimitsToText = (rules: KeyRecord['ratelimits']) =>
  rules === null ? null : JSON.stringify(rules);
/** Nullable JSON columns: NULL stays null (it means "inherit" or "any", unlike `[]`). */
const jsonOrNull = <T>(text: string | null): T | null =>
  text === null ? null : (JSON.parse(text) as T);
const textOrNull = (value: unknown): string | null =>
  value === null || value === undefined ? null : JSON.stringify(value);

function ownerFromRow(row: Selectable<OwnersTable>): OwnerRecord {
  return {
    id: row.id,
    ratelimits: ratelimitsFromText(row.ratelimits),
    credits: creditsFromRow(row),
    budgets: jsonOrNull<OwnerRecord['budgets']>(row.budgets),
    createdAt: toNumber(row.created_at),
    updatedAt: toNumber(row.updated_at),
  };
}

function keyFromRow(row: Selectable<KeysTable>): KeyRecord {
  return {
    id: row.id,
    projectId: row.project_id,
    kind: row.kind as KeyKind,
    name: row.name,
    env: row.env,
    hash: row.hash,
    pepperVersion: row.pepper_version,
    display: row.display,
    scopes: JSON.parse(row.scopes) as string[],
    status: row.status as KeyStatus,
    ownerId: row.owner_id,
    meta: JSON.parse(row.meta) as Record<string, unknown>,
    expiresAt: toNullableNumber(row.expires_at),
    allowedIps: JSON.parse(row.allowed_ips) as string[],
    createdAt: toNumber(row.created_at),
    updatedAt: toNumber(row.updated_at),
    lastUsedAt: toNullableNumber(row.last_used_at),
    lastUsedIp: row.last_used_ip,
    rotatedFromId: row.rotated_from_id,
    revokedAt: toNullableNumber(row.revoked_at),
    ratelimits: ratelimitsFromText(row.ratelimits),
    credits: creditsFromRow(row),
    rotatedToId: row.rotated_to_id,
    models: jsonOrNull<string[]>(row.models),
    budgets: jsonOrNull<KeyRecord['budgets']>(row.budgets),
    revision: toNumber(row.revision),
  };
}

/**
 * The next store-wide key revision. Inside the caller's transaction, its row lock (held to
 * the commit) serialises key changes, so revisions follow commit order (008-key-revisions).
 */
async function nextRevision(db: Executor): Promise<number> {
  const row = await db
    .updateTable('revisions')
    .set((eb) => ({ value: eb('value', '+', 1) }))
    .where('id', '=', 1)
    .returning('value')
    .executeTakeFirstOrThrow();
  return toNumber(row.value);
}

function upstreamFromRow(row: Selectable<UpstreamsTable>): UpstreamRecord {
  return {
    id: row.id,
    name: row.name,
    type: row.type as UpstreamType,
    baseUrl: row.base_url,
    secretSealed: row.secret_sealed,
    secretHint: row.secret_hint,
    authHeader: row.auth_header,
    authScheme: row.auth_scheme,
    environments: jsonOrNull<string[]>(row.environments),
    timeouts: JSON.parse(row.timeouts) as UpstreamRecord['timeouts'],
    routes: JSON.parse(row.routes) as UpstreamRecord['routes'],
    prices: JSON.parse(row.prices) as UpstreamRecord['prices'],
    createdAt: toNumber(row.created_at),
    updatedAt: toNumber(row.updated_at),
  };
}

function auditFromRow(row: Selectable<AuditTable>): AuditEntry {
  return {
    seq: toNumber(row.seq),
    at: toNumber(row.at),
    actorId: row.actor_id,
    actorDisplay: row.actor_display,
    action: row.action,
    targetType: row.target_type,
    targetId: row.target_id,
    ip: row.ip,
    result: row.result as AuditEntry['result'],
    requestId: row.request_id,
    details: JSON.parse(row.details) as Record<string, unknown>,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

function projectRepository(db: Executor): ProjectRepository {
  const byColumn = async (column: 'id' | 'name' | 'prefix', value: string) => {
    const row = await db
      .selectFrom('projects')
      .selectAll()
      .where(column, '=', value)
      .executeTakeFirst();
    return row ? projectFromRow(row) : null;
  };
  return {
    async insert(p) {
      await db
        .insertInto('projects')
        .values({
          id: p.id,
          name: p.name,
          prefix: p.prefix,
          environments: JSON.stringify(p.environments),
          allow_query_key: p.allowQueryKey ? 1 : 0,
          ratelimit_defaults: JSON.stringify(p.ratelimitDefaults),
          rotation_policy: JSON.stringify(p.rotationPolicy),
          revoke_on_leak: p.revokeOnLeak ? 1 : 0,
          created_at: p.createdAt,
          updated_at: p.updatedAt,
        })
        .execute();
    },
    async update(id, patch) {
      const values: Partial<ProjectsTable> = {};
      if (patch.name !== undefined) values.name = patch.name;
      if (patch.environments !== undefined)
        values.environments = JSON.stringify(patch.environments);
      if (patch.allowQueryKey !== undefined) values.allow_query_key = patch.allowQueryKey ? 1 : 0;
      if (patch.ratelimitDefaults !== undefined)
        values.ratelimit_defaults = JSON.stringify(patch.ratelimitDefaults);
      if (patch.rotationPolicy !== undefined)
        values.rotation_policy = JSON.stringify(patch.rotationPolicy);
      if (patch.revokeOnLeak !== undefined) values.revoke_on_leak = patch.revokeOnLeak ? 1 : 0;
      if (patch.updatedAt !== undefined) values.updated_at = patch.updatedAt;
      if (Object.keys(values).length > 0) {
        await db.updateTable('projects').set(values).where('id', '=', id).execute();
      }
      return byColumn('id', id);
    },
    async delete(id) {
      const result = await db.deleteFrom('projects').where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
    findById: (id) => byColumn('id', id),
    findByName: (name) => byColumn('name', name),
    findByPrefix: (prefix) => byColumn('prefix', prefix),
    async list() {
      const rows = await db.selectFrom('projects').selectAll().orderBy('name').execute();
      return rows.map(projectFromRow);
    },
    async countKeys(id) {
      const row = await db
        .selectFrom('keys')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where('project_id', '=', id)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
}

async function writeBackCredits(
  db: Executor,
  table: 'keys' | 'owners',
  changes: readonly { id: string; remaining: number; refilledAt: number }[],
): Promise<void> {
  for (const c of changes) {
    await db
      .updateTable(table)
      .set({ credits_remaining: c.remaining, credits_refilled_at: c.refilledAt })
      .where('id', '=', c.id)
      .where('credits_remaining', 'is not', null)
      .execute();
  }
}

function ownerRepository(db: Executor, lockReads: boolean): OwnerRepository {
  return {
    async upsert(owner) {
      const values = {
        id: owner.id,
        ratelimits: ratelimitsToText(owner.ratelimits),
        ...creditsToColumns(owner.credits),
        budgets: textOrNull(owner.budgets),
        created_at: owner.createdAt,
        updated_at: owner.updatedAt,
      };
      const { id: _id, created_at: _created, ...changes } = values;
      await db
        .insertInto('owners')
        .values(values)
        .onConflict((oc) => oc.column('id').doUpdateSet(changes))
        .execute();
    },
    async findById(id) {
      const row = await db
        .selectFrom('owners')
        .selectAll()
        .where('id', '=', id)
        .$if(lockReads, (qb) => qb.forUpdate())
        .executeTakeFirst();
      return row ? ownerFromRow(row) : null;
    },
    async list(limit, afterId) {
      let query = db.selectFrom('owners').selectAll();
      if (afterId !== undefined) query = query.where('id', '>', afterId);
      return (await query.orderBy('id').limit(limit).execute()).map(ownerFromRow);
    },
    async delete(id) {
      const result = await db.deleteFrom('owners').where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
    writeBackCredits: (changes) => writeBackCredits(db, 'owners', changes),
  };
}

function keyRepository(db: Executor, lockReads: boolean): KeyRepository {
  const findBy = async (column: 'id' | 'hash', value: string, forUpdate = false) => {
    const row = await db
      .selectFrom('keys')
      .selectAll()
      .where(column, '=', value)
      .$if(forUpdate, (qb) => qb.forUpdate())
      .executeTakeFirst();
    return row ? keyFromRow(row) : null;
  };
  return {
    async insert(k) {
      await db
        .insertInto('keys')
        .values({
          id: k.id,
          project_id: k.projectId,
          kind: k.kind,
          name: k.name,
          env: k.env,
          hash: k.hash,
          pepper_version: k.pepperVersion,
          display: k.display,
          scopes: JSON.stringify(k.scopes),
          status: k.status,
          owner_id: k.ownerId,
          meta: JSON.stringify(k.meta),
          expires_at: k.expiresAt,
          allowed_ips: JSON.stringify(k.allowedIps),
          created_at: k.createdAt,
          updated_at: k.updatedAt,
          last_used_at: k.lastUsedAt,
          last_used_ip: k.lastUsedIp,
          rotated_from_id: k.rotatedFromId,
          revoked_at: k.revokedAt,
          ratelimits: ratelimitsToText(k.ratelimits),
          ...creditsToColumns(k.credits),
          rotated_to_id: k.rotatedToId,
          models: textOrNull(k.models),
          budgets: textOrNull(k.budgets),
          revision: await nextRevision(db),
        })
        .execute();
    },
    async update(id, patch) {
      const values: Partial<KeysTable> = {};
      if (patch.name !== undefined) values.name = patch.name;
      if (patch.scopes !== undefined) values.scopes = JSON.stringify(patch.scopes);
      if (patch.status !== undefined) values.status = patch.status;
      if (patch.ownerId !== undefined) values.owner_id = patch.ownerId;
      if (patch.meta !== undefined) values.meta = JSON.stringify(patch.meta);
      if (patch.expiresAt !== undefined) values.expires_at = patch.expiresAt;
      if (patch.allowedIps !== undefined) values.allowed_ips = JSON.stringify(patch.allowedIps);
      if (patch.revokedAt !== undefined) values.revoked_at = patch.revokedAt;
      if (patch.ratelimits !== undefined) values.ratelimits = ratelimitsToText(patch.ratelimits);
      if (patch.credits !== undefined) Object.assign(values, creditsToColumns(patch.credits));
      if (patch.rotatedToId !== undefined) values.rotated_to_id = patch.rotatedToId;
      if (patch.models !== undefined) values.models = textOrNull(patch.models);
      if (patch.budgets !== undefined) values.budgets = textOrNull(patch.budgets);
      if (patch.updatedAt !== undefined) values.updated_at = patch.updatedAt;
      if (Object.keys(values).length > 0) {
        values.revision = await nextRevision(db);
        await db.updateTable('keys').set(values).where('id', '=', id).execute();
      }
      return findBy('id', id);
    },
    async delete(id) {
      const result = await db.deleteFrom('keys').where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
    findById: (id) => findBy('id', id, lockReads),
    findByHash: (hash) => findBy('hash', hash),
    async list(filter) {
      let query = db.selectFrom('keys').selectAll();
      if (filter.projectId) query = query.where('project_id', '=', filter.projectId);
      if (filter.kind) query = query.where('kind', '=', filter.kind);
      if (filter.env) query = query.where('env', '=', filter.env);
      if (filter.status) query = query.where('status', '=', filter.status);
      if (filter.ownerId) query = query.where('owner_id', '=', filter.ownerId);
      if (filter.beforeId) query = query.where('id', '<', filter.beforeId);
      const rows = await query.orderBy('id', 'desc').limit(filter.limit).execute();
      return rows.map(keyFromRow);
    },
    async touch(touches) {
      // Only ever move last_used_at forward: batches from several nodes may arrive out of order.
      for (const t of touches) {
        await db
          .updateTable('keys')
          .set({ last_used_at: t.at, last_used_ip: t.ip })
          .where('id', '=', t.keyId)
          .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', t.at)]))
          .execute();
      }
    },
    writeBackCredits: (changes) => writeBackCredits(db, 'keys', changes),
  };
}

function upstreamRepository(db: Executor): UpstreamRepository {
  const byColumn = async (column: 'id' | 'name', value: string) => {
    const row = await db
      .selectFrom('upstreams')
      .selectAll()
      .where(column, '=', value)
      .executeTakeFirst();
    return row ? upstreamFromRow(row) : null;
  };
  return {
    async insert(u) {
      await db
        .insertInto('upstreams')
        .values({
          id: u.id,
          name: u.name,
          type: u.type,
          base_url: u.baseUrl,
          secret_sealed: u.secretSealed,
          secret_hint: u.secretHint,
          auth_header: u.authHeader,
          auth_scheme: u.authScheme,
          environments: textOrNull(u.environments),
          timeouts: JSON.stringify(u.timeouts),
          routes: JSON.stringify(u.routes),
          prices: JSON.stringify(u.prices),
          created_at: u.createdAt,
          updated_at: u.updatedAt,
        })
        .execute();
    },
    async update(id, patch) {
      const values: Partial<UpstreamsTable> = {};
      if (patch.name !== undefined) values.name = patch.name;
      if (patch.baseUrl !== undefined) values.base_url = patch.baseUrl;
      if (patch.secretSealed !== undefined) values.secret_sealed = patch.secretSealed;
      if (patch.secretHint !== undefined) values.secret_hint = patch.secretHint;
      if (patch.authHeader !== undefined) values.auth_header = patch.authHeader;
      if (patch.authScheme !== undefined) values.auth_scheme = patch.authScheme;
      if (patch.environments !== undefined) values.environments = textOrNull(patch.environments);
      if (patch.timeouts !== undefined) values.timeouts = JSON.stringify(patch.timeouts);
      if (patch.routes !== undefined) values.routes = JSON.stringify(patch.routes);
      if (patch.prices !== undefined) values.prices = JSON.stringify(patch.prices);
      if (patch.updatedAt !== undefined) values.updated_at = patch.updatedAt;
      if (Object.keys(values).length > 0) {
        await db.updateTable('upstreams').set(values).where('id', '=', id).execute();
      }
      return byColumn('id', id);
    },
    async delete(id) {
      const result = await db.deleteFrom('upstreams').where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
    findById: (id) => byColumn('id', id),
    findByName: (name) => byColumn('name', name),
    async list() {
      const rows = await db.selectFrom('upstreams').selectAll().orderBy('name').execute();
      return rows.map(upstreamFromRow);
    },
  };
}

function auditRepository(db: Executor, hooks: DialectHooks): AuditRepository {
  const appendIn = async (trx: Transaction<Database>, entry: AuditEntryInput) => {
    await hooks.lockAuditChain(trx);
    const last = await trx
      .selectFrom('audit')
      .select(['seq', 'hash'])
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    const seq = last ? Number(last.seq) + 1 : 1;
    const prevHash = last?.hash ?? GENESIS_HASH;
    const hash = auditEntryHash(prevHash, seq, entry);
    await trx
      .insertInto('audit')
      .values({
        seq,
        at: entry.at,
        actor_id: entry.actorId,
        actor_display: entry.actorDisplay,
        action: entry.action,
        target_type: entry.targetType,
        target_id: entry.targetId,
        ip: entry.ip,
        result: entry.result,
        request_id: entry.requestId,
        details: JSON.stringify(entry.details),
        prev_hash: prevHash,
        hash,
      })
      .execute();
    return { ...entry, seq, prevHash, hash };
  };
  return {
    append(entry) {
      return db.isTransaction
        ? appendIn(db as Transaction<Database>, entry)
        : db.transaction().execute((trx) => appendIn(trx, entry));
    },
    async list(filter) {
      let query = db.selectFrom('audit').selectAll();
      if (filter.actorId) query = query.where('actor_id', '=', filter.actorId);
      if (filter.action) query = query.where('action', '=', filter.action);
      if (filter.targetId) query = query.where('target_id', '=', filter.targetId);
      if (filter.result) query = query.where('result', '=', filter.result);
      if (filter.from !== undefined) query = query.where('at', '>=', filter.from);
      if (filter.to !== undefined) query = query.where('at', '<', filter.to);
      if (filter.beforeSeq !== undefined) query = query.where('seq', '<', filter.beforeSeq);
      const rows = await query.orderBy('seq', 'desc').limit(filter.limit).execute();
      return rows.map(auditFromRow);
    },
    async scan(afterSeq, limit) {
      const rows = await db
        .selectFrom('audit')
        .selectAll()
        .where('seq', '>', afterSeq)
        .orderBy('seq', 'asc')
        .limit(limit)
        .execute();
      return rows.map(auditFromRow);
    },
  };
}

/**
 * Inside a transaction on PostgreSQL, reading a key or an owner by id locks its row
 * (`select … for update`) until the transaction ends. SQLite runs one transaction at a time,
 * so a read-check-write there (revoke, enable/disable, rotate, owner.set) never interleaves
 * with another; under PostgreSQL's read committed two nodes could both read "active" and
 * both write: a concurrent enable undoing a revocation, or one key rotated twice.
 */
const locksReads = (db: Executor, hooks: DialectHooks) =>
  db.isTransaction && hooks.backend === 'postgres';

function repositories(db: Executor, hooks: DialectHooks): Repositories {
  return {
    projects: projectRepository(db),
    keys: keyRepository(db, locksReads(db, hooks)),
    owners: ownerRepository(db, locksReads(db, hooks)),
    idempotency: idempotencyRepository(db),
    leaks: leakRepository(db),
    audit: auditRepository(db, hooks),
    usage: usageRepository(db, hooks.insertUsageEvents),
    upstreams: upstreamRepository(db),
  };
}

export function createKyselyStore(
  db: Kysely<Database>,
  hooks: DialectHooks,
  onClose: () => Promise<void>,
): Store {
  const root = repositories(db, hooks);
  return {
    backend: hooks.backend,
    ...root,
    transaction: (work) => db.transaction().execute((trx) => work(repositories(trx, hooks))),
    async ping() {
      await sql`select 1`.execute(db);
    },
    async close() {
      await db.destroy();
      await onClose();
    },
  };
}
