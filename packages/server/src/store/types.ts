/**
 * The store's contract. Every backend (SQLite, PostgreSQL) implements it with the same
 * Kysely code and passes the same test suite (store.suite.ts). Times are milliseconds
 * since the epoch; the HTTP layer turns them into ISO 8601.
 */

import type { BudgetRule, CreditsRefill, RateLimitRule } from '../limiter/index.ts';
import type { UsageRepository } from './usage-repository.ts';

export type { BudgetRule, CreditsRefill, RateLimitRule };

/** Credits as stored: the last written-back balance and when it was last refilled. */
export interface StoredCredits {
  remaining: number;
  refill: CreditsRefill | null;
  refilledAt: number;
}

/** Default rate limits per environment; `*` applies to environments not named. */
export type RateLimitDefaults = Record<string, RateLimitRule[]>;

/** Rotation policy per environment (`*` for environments not named). */
export interface RotationRule {
  /** Keys older than this are due for rotation. */
  maxAgeDays: number;
  /** Also refuse keys older than maxAgeDays (+ graceDays) with EXPIRED. */
  enforce?: boolean;
  graceDays?: number;
}
export type RotationPolicy = Record<string, RotationRule>;

export type KeyStatus = 'active' | 'disabled' | 'revoked';
/** `api` keys are what users hand out; `management` keys call keywarden's own API. */
export type KeyKind = 'api' | 'management';

export interface ProjectRecord {
  id: string;
  name: string;
  /** Key prefix, `[a-z][a-z0-9]{1,11}`; unique, so a key's prefix names its project. */
  prefix: string;
  environments: string[];
  /** Whether keys may come in an `api_key` query parameter (URLs end up in logs). */
  allowQueryKey: boolean;
  ratelimitDefaults: RateLimitDefaults;
  rotationPolicy: RotationPolicy;
  /** Revoke a key at once when a trusted reporter (GitHub secret scanning) finds it leaked. */
  revokeOnLeak: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface KeyRecord {
  id: string;
  projectId: string;
  kind: KeyKind;
  name: string;
  env: string;
  /** HMAC-SHA256 of the plaintext under pepper `pepperVersion`, hex. */
  hash: string;
  pepperVersion: number;
  /** Display form, e.g. `kw_prod_…uOupm`: safe to show and log. */
  display: string;
  scopes: string[];
  status: KeyStatus;
  ownerId: string | null;
  meta: Record<string, unknown>;
  expiresAt: number | null;
  allowedIps: string[];
  createdAt: number;
  updatedAt: number;
  lastUsedAt: number | null;
  lastUsedIp: string | null;
  rotatedFromId: string | null;
  revokedAt: number | null;
  /** null: inherit the project's defaults for the key's environment; []: no limits. */
  ratelimits: RateLimitRule[] | null;
  credits: StoredCredits | null;
  /** The key that replaced this one by rotation. */
  rotatedToId: string | null;
  /**
   * Gateway: the models this key may call (exact names or `*` patterns, e.g. `gpt-4o-mini`,
   * `gpt-4o*`); null: any model.
   */
  models: string[] | null;
  /** Gateway: money budgets of this key; null or []: none of its own. */
  budgets: BudgetRule[] | null;
  /**
   * The store-wide revision of this key's last change, set by the store (ignored on insert):
   * invalidations carry it so that a cache never keeps a record older than a change it heard
   * of. Absent on records not read from a store.
   */
  revision?: number;
}

/** An owner (user, team, service) whose limits and credits all of its keys share. */
export interface OwnerRecord {
  id: string;
  ratelimits: RateLimitRule[] | null;
  credits: StoredCredits | null;
  /** Gateway: money budgets shared by all of the owner's keys. */
  budgets: BudgetRule[] | null;
  createdAt: number;
  updatedAt: number;
}

export type KeyPatch = Partial<
  Pick<
    KeyRecord,
    | 'name'
    | 'scopes'
    | 'status'
    | 'ownerId'
    | 'meta'
    | 'expiresAt'
    | 'allowedIps'
    | 'revokedAt'
    | 'ratelimits'
    | 'credits'
    | 'rotatedToId'
    | 'models'
    | 'budgets'
    | 'updatedAt'
  >
>;

export type UpstreamType = 'openai' | 'http';

/** Generic HTTP upstreams: which scope a route needs. First match wins. */
export interface UpstreamRoute {
  /** An HTTP method, or `*` for any. */
  method: string;
  /** A path below the upstream's base, `*` matching one segment and a trailing `**` the rest. */
  path: string;
  /** The scope a key needs for it, e.g. `billing:write`. */
  scope: string;
}

export interface UpstreamTimeouts {
  /** Connecting to the upstream. */
  connectMs: number;
  /** Until the upstream's response headers arrive. */
  headersMs: number;
  /** Longest silence between two body chunks (streams included). */
  bodyMs: number;
}

/**
 * An API that the gateway (`/gw/{name}/…`) forwards to, with the secret it injects. The
 * secret is stored sealed (AES-256-GCM under the master key, context `upstream:<id>`) and is
 * never returned by the API or logged; `secretHint` (its last 4 characters) helps operators
 * recognise which secret is set.
 */
export interface UpstreamRecord {
  id: string;
  /** `[a-z0-9][a-z0-9-]{0,62}`, unique: the `{name}` in `/gw/{name}/…`. */
  name: string;
  type: UpstreamType;
  /** Absolute http(s) URL without query or fragment, e.g. `https://api.openai.com`. */
  baseUrl: string;
  /** Sealed secret (encryptSecret output); null: forward without credentials. */
  secretSealed: string | null;
  secretHint: string | null;
  /** Header that carries the secret, lower case (default `authorization`). */
  authHeader: string;
  /** Scheme written before the secret (default `Bearer`); null: the secret alone. */
  authScheme: string | null;
  /** Environments whose keys it accepts; null: any. */
  environments: string[] | null;
  timeouts: UpstreamTimeouts;
  /** `http` upstreams: route → scope map; a route not listed is refused (403). */
  routes: UpstreamRoute[];
  /** Per-model prices that override the price table, in micros per million tokens. */
  prices: Record<string, ModelPrice>;
  createdAt: number;
  updatedAt: number;
}

/** Price of a model, in millionths of the currency per one million tokens. */
export interface ModelPrice {
  inputMicrosPerMTok: number;
  outputMicrosPerMTok: number;
}

export type UpstreamPatch = Partial<
  Pick<
    UpstreamRecord,
    | 'name'
    | 'baseUrl'
    | 'secretSealed'
    | 'secretHint'
    | 'authHeader'
    | 'authScheme'
    | 'environments'
    | 'timeouts'
    | 'routes'
    | 'prices'
    | 'updatedAt'
  >
>;

export interface UpstreamRepository {
  insert(upstream: UpstreamRecord): Promise<void>;
  update(id: string, patch: UpstreamPatch): Promise<UpstreamRecord | null>;
  delete(id: string): Promise<boolean>;
  findById(id: string): Promise<UpstreamRecord | null>;
  findByName(name: string): Promise<UpstreamRecord | null>;
  list(): Promise<UpstreamRecord[]>;
}

export interface KeyFilter {
  projectId?: string;
  kind?: KeyKind;
  env?: string;
  status?: KeyStatus;
  ownerId?: string;
  /** Only ids sorting before this one (newest-first cursor pagination). */
  beforeId?: string;
  limit: number;
}

export interface KeyUsageTouch {
  keyId: string;
  at: number;
  ip: string | null;
}

export type AuditResult = 'success' | 'denied' | 'failed';

export interface AuditEntryInput {
  at: number;
  /** The management key's id, or `cli` for commands that work on the store directly. */
  actorId: string;
  actorDisplay: string;
  action: string;
  targetType: string;
  targetId: string | null;
  ip: string | null;
  result: AuditResult;
  requestId: string | null;
  /** Already redacted; never a plaintext key. */
  details: Record<string, unknown>;
}

export interface AuditEntry extends AuditEntryInput {
  /** Position in the tamper-evident chain: 1, 2, 3 … */
  seq: number;
  /** sha256 over the previous entry's hash and this entry's content. */
  hash: string;
  prevHash: string;
}

export interface AuditFilter {
  actorId?: string;
  action?: string;
  targetId?: string;
  result?: AuditResult;
  from?: number;
  to?: number;
  /** Only entries with seq below this (newest-first cursor pagination). */
  beforeSeq?: number;
  limit: number;
}

export interface ProjectRepository {
  insert(project: ProjectRecord): Promise<void>;
  update(
    id: string,
    patch: Partial<
      Pick<
        ProjectRecord,
        | 'name'
        | 'environments'
        | 'allowQueryKey'
        | 'ratelimitDefaults'
        | 'rotationPolicy'
        | 'revokeOnLeak'
        | 'updatedAt'
      >
    >,
  ): Promise<ProjectRecord | null>;
  delete(id: string): Promise<boolean>;
  findById(id: string): Promise<ProjectRecord | null>;
  findByName(name: string): Promise<ProjectRecord | null>;
  findByPrefix(prefix: string): Promise<ProjectRecord | null>;
  list(): Promise<ProjectRecord[]>;
  countKeys(id: string): Promise<number>;
}

export interface CreditsWriteBack {
  id: string;
  remaining: number;
  refilledAt: number;
}

export interface OwnerRepository {
  /** Creates or replaces the owner's limits and credits. */
  upsert(owner: OwnerRecord): Promise<void>;
  findById(id: string): Promise<OwnerRecord | null>;
  list(limit: number, afterId?: string): Promise<OwnerRecord[]>;
  delete(id: string): Promise<boolean>;
  /** The limiter's balances, written back off the request path. */
  writeBackCredits(changes: readonly CreditsWriteBack[]): Promise<void>;
}

export interface IdempotencyRecord {
  /** Who and what the key is scoped to, e.g. `<actor id> POST /v1/keys/<id>/rotate`. */
  scope: string;
  /** sha256 hex of the client's `Idempotency-Key` header: never the header itself. */
  idempotencyKey: string;
  /** sha256 of the request body: the same key with another body is an error. */
  requestHash: string;
  status: number;
  /** The response body, encrypted under the master key (it may hold a new key). */
  response: string;
  createdAt: number;
}

export interface IdempotencyRepository {
  find(scope: string, idempotencyKey: string): Promise<IdempotencyRecord | null>;
  insert(record: IdempotencyRecord): Promise<void>;
  /** Drops one record: its answer holds a key that was revoked or deleted since. */
  delete(scope: string, idempotencyKey: string): Promise<void>;
  deleteBefore(ms: number): Promise<number>;
}

export interface LeakRecord {
  id: string;
  reporter: 'github' | 'scan' | 'manual';
  /** sha256 hex of the leaked token: the token itself is never stored. */
  tokenHash: string;
  tokenType: string;
  url: string;
  source: string;
  keyId: string | null;
  action: 'revoked' | 'reported' | 'none';
  reportedAt: number;
}

export interface LeakRepository {
  /** false when the same reporter already reported the same token at the same URL (a replay). */
  insertIfNew(leak: LeakRecord): Promise<boolean>;
  listForKey(keyId: string): Promise<LeakRecord[]>;
  list(limit: number): Promise<LeakRecord[]>;
}

export interface KeyRepository {
  insert(key: KeyRecord): Promise<void>;
  update(id: string, patch: KeyPatch): Promise<KeyRecord | null>;
  delete(id: string): Promise<boolean>;
  findById(id: string): Promise<KeyRecord | null>;
  /** The hot-path lookup: by the unique index on the hash. */
  findByHash(hash: string): Promise<KeyRecord | null>;
  list(filter: KeyFilter): Promise<KeyRecord[]>;
  /** Batched last-used bookkeeping, written off the request path. */
  touch(touches: readonly KeyUsageTouch[]): Promise<void>;
  writeBackCredits(changes: readonly CreditsWriteBack[]): Promise<void>;
}

export interface AuditRepository {
  append(entry: AuditEntryInput): Promise<AuditEntry>;
  list(filter: AuditFilter): Promise<AuditEntry[]>;
  /** All entries in chain order, in pages, for `keywarden audit verify`. */
  scan(afterSeq: number, limit: number): Promise<AuditEntry[]>;
}

export interface Repositories {
  projects: ProjectRepository;
  keys: KeyRepository;
  owners: OwnerRepository;
  idempotency: IdempotencyRepository;
  leaks: LeakRepository;
  audit: AuditRepository;
  usage: UsageRepository;
  upstreams: UpstreamRepository;
}

export interface Store extends Repositories {
  readonly backend: 'sqlite' | 'postgres';
  /** Runs `work` in one transaction: a change and its audit entry land together or not at all. */
  transaction<T>(work: (tx: Repositories) => Promise<T>): Promise<T>;
  /** A cheap round trip for /readyz. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
