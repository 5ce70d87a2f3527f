import type { Generated } from 'kysely';

/** Kysely's view of the tables. JSON columns are text, so one code path serves every backend. */
export interface ProjectsTable {
  id: string;
  name: string;
  prefix: string;
  environments: string;
  allow_query_key: number;
  ratelimit_defaults: string;
  rotation_policy: string;
  revoke_on_leak: number;
  created_at: number;
  updated_at: number;
}

export interface KeysTable {
  id: string;
  project_id: string;
  kind: string;
  name: string;
  env: string;
  hash: string;
  pepper_version: number;
  display: string;
  scopes: string;
  status: string;
  owner_id: string | null;
  meta: string;
  expires_at: number | null;
  allowed_ips: string;
  created_at: number;
  updated_at: number;
  last_used_at: number | null;
  last_used_ip: string | null;
  rotated_from_id: string | null;
  revoked_at: number | null;
  ratelimits: string | null;
  credits_remaining: number | null;
  credits_refill: string | null;
  credits_refilled_at: number | null;
  rotated_to_id: string | null;
  models: string | null;
  budgets: string | null;
  /** The store-wide revision of the key's last change (migration 008-key-revisions). */
  revision: number;
}

/** One row (id 1): the last key revision handed out. */
export interface RevisionsTable {
  id: number;
  value: number;
}

export interface IdempotencyTable {
  scope: string;
  idempotency_key: string;
  request_hash: string;
  status: number;
  response: string;
  created_at: number;
}

export interface LeaksTable {
  id: string;
  reporter: string;
  token_hash: string;
  token_type: string;
  url: string;
  source: string;
  key_id: string | null;
  action: string;
  reported_at: number;
}

export interface OwnersTable {
  id: string;
  ratelimits: string | null;
  credits_remaining: number | null;
  credits_refill: string | null;
  credits_refilled_at: number | null;
  budgets: string | null;
  created_at: number;
  updated_at: number;
}

/** Gateway upstreams (migration 005-gateway). */
export interface UpstreamsTable {
  id: string;
  name: string;
  type: string;
  base_url: string;
  secret_sealed: string | null;
  secret_hint: string | null;
  auth_header: string;
  auth_scheme: string | null;
  environments: string | null;
  timeouts: string;
  routes: string;
  prices: string;
  created_at: number;
  updated_at: number;
}

export interface AuditTable {
  seq: number;
  at: number;
  actor_id: string;
  actor_display: string;
  action: string;
  target_type: string;
  target_id: string | null;
  ip: string | null;
  result: string;
  request_id: string | null;
  details: string;
  prev_hash: string;
  hash: string;
}

/** One row per verification (migration 002-usage). */
export interface UsageEventsTable {
  id: Generated<number>;
  at: number;
  key_id: string | null;
  project_id: string | null;
  owner_id: string | null;
  env: string | null;
  outcome: string;
  entry_point: string;
  route: string | null;
  status: number;
  latency_ms: number;
  client_ip: string | null;
  user_agent: string | null;
  cost: number;
  tokens_in: number | null;
  tokens_out: number | null;
  cost_micros: number | null;
  /** How many identical events the row stands for (usage/group.ts). */
  count: Generated<number>;
  /** 1: a gateway call whose model had no price (its cost is unknown, not 0); else 0. */
  unpriced: Generated<number>;
}

/** Sums per granularity, bucket and dimensions; dimensions are '' where the event had NULL. */
export interface UsageRollupsTable {
  granularity: string;
  bucket_start: number;
  key_id: string;
  owner_id: string;
  project_id: string;
  env: string;
  outcome: string;
  count: number;
  cost_sum: number;
  tokens_in_sum: number;
  tokens_out_sum: number;
  cost_micros_sum: number;
  /** Calls whose cost is unknown (no price for their model), left out of `cost_micros_sum`. */
  unpriced_sum: Generated<number>;
  latency_ms_sum: number;
}

export interface Database {
  projects: ProjectsTable;
  keys: KeysTable;
  owners: OwnersTable;
  idempotency: IdempotencyTable;
  leaks: LeaksTable;
  audit: AuditTable;
  usage_events: UsageEventsTable;
  usage_rollups: UsageRollupsTable;
  upstreams: UpstreamsTable;
  revisions: RevisionsTable;
}
