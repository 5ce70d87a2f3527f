import { checkKeyFormat } from '@keywarden/core';
import type { CachedKey, KeyCache } from '../cache/index.ts';
import type { Clock } from '../clock/index.ts';
import { KeyHasher } from '../secrets/index.ts';
import type { KeyKind, KeyRecord, ProjectRecord, Store } from '../store/index.ts';
import type { RejectionCode, VerifyCode } from './codes.ts';
import { decideClientIp, decideEnvironment, decideKeyState, decideScopes } from './decisions.ts';
import type { LastUsedRecorder } from './last-used.ts';

export interface VerifyRequest {
  /** The presented key, exactly as received (undefined when none was presented). */
  key: string | undefined;
  /** Where the key came from: a query-string key is accepted only where the project allows it. */
  source?: 'header' | 'query' | 'body';
  /** Scopes the caller needs; all of them must be granted. */
  requiredScopes?: readonly string[];
  /** The environment the caller serves; a key of another environment is rejected. */
  env?: string;
  clientIp?: string | null;
  /** Management routes accept only management keys, and every other entry point only API keys. */
  kind?: KeyKind;
}

export interface VerifyResult {
  valid: boolean;
  code: VerifyCode;
  /** The key when it was found, also on a rejection after lookup (for audit and usage). */
  key: KeyRecord | null;
  project: ProjectRecord | null;
  missingScopes: string[];
}

export interface VerifierDeps {
  store: Pick<Store, 'keys' | 'projects'>;
  hasher: KeyHasher;
  cache: KeyCache;
  clock: Clock;
  lastUsed?: LastUsedRecorder;
}

const NO_SCOPES: string[] = [];

function rejected(code: RejectionCode, found?: CachedKey, missing = NO_SCOPES): VerifyResult {
  return {
    valid: false,
    code,
    key: found?.key ?? null,
    project: found?.project ?? null,
    missingScopes: missing,
  };
}

/**
 * The one verification pipeline behind every entry point (verify API, forward-auth,
 * management auth, and later the gateway and SDK):
 * checksum → cache/store lookup → revoked/expired/disabled → environment → IP allowlist → scopes.
 */
export class Verifier {
  readonly #deps: VerifierDeps;
  /** Concurrent misses for the same hash share one store query. */
  readonly #inflight = new Map<string, Promise<CachedKey | null>>();

  constructor(deps: VerifierDeps) {
    this.#deps = deps;
  }

  async verify(request: VerifyRequest): Promise<VerifyResult> {
    const { key: presented } = request;
    if (presented === undefined || presented === '') return rejected('MISSING');
    // Offline: a malformed key or a bad checksum never reaches the cache or the store.
    if (!checkKeyFormat(presented).ok) return rejected('MALFORMED');

    const { hash } = this.#deps.hasher.hash(presented);
    const found = this.#deps.cache.get(hash) ?? (await this.#load(presented, hash));
    if (!found || found.key.kind !== (request.kind ?? 'api')) return rejected('NOT_FOUND');
    if (request.source === 'query' && !found.project.allowQueryKey) return rejected('MISSING');

    const now = this.#deps.clock.now();
    const { key } = found;
    const state =
      decideKeyState(key, now) ??
      decideEnvironment(key.env, request.env) ??
      decideClientIp(found.ipMatcher, request.clientIp);
    if (state) return rejected(state, found);
    const scopes = decideScopes(key.scopes, request.requiredScopes);
    if (scopes) return rejected(scopes.code, found, scopes.missing);

    this.#deps.lastUsed?.record(key.id, now, request.clientIp ?? null);
    return { valid: true, code: 'VALID', key, project: found.project, missingScopes: NO_SCOPES };
  }

  #load(presented: string, hash: string): Promise<CachedKey | null> | null {
    if (this.#deps.cache.isKnownMissing(hash)) return null;
    let pending = this.#inflight.get(hash);
    if (!pending) {
      pending = this.#lookup(presented, hash).finally(() => this.#inflight.delete(hash));
      this.#inflight.set(hash, pending);
    }
    return pending;
  }

  async #lookup(presented: string, hash: string): Promise<CachedKey | null> {
    const { store, hasher, cache } = this.#deps;
    let lookedUp = hash;
    let key = await store.keys.findByHash(hash);
    // Keys hashed under an older pepper still verify until they are rotated.
    for (const older of key ? [] : hasher.olderHashes(presented)) {
      lookedUp = older.hash;
      key = await store.keys.findByHash(lookedUp);
      if (key) break;
    }
    // The index found the row; the constant-time check makes sure the backend's comparison
    // (collation, case folding) cannot have matched a different hash.
    const project =
      key && KeyHasher.equal(key.hash, lookedUp)
        ? await store.projects.findById(key.projectId)
        : null;
    if (!key || !project) {
      cache.rememberMissing(hash);
      return null;
    }
    return cache.set(hash, key, project);
  }
}
