/** Kysely's view of the tables. JSON columns are text, so one code path serves every backend. */
export interface ProjectsTable {
  id: string;
  name: string;
  prefix: string;
  environments: string;
  allow_query_key: number;
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

export interface Database {
  projects: ProjectsTable;
  keys: KeysTable;
  audit: AuditTable;
}
