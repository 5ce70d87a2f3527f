import { type Actor, auditEntry } from '../audit/index.ts';
import type { Clock } from '../clock/index.ts';
import { invalidField, KeywardenError, notFound } from '../errors/index.ts';
import { newId } from '../ids/index.ts';
import type { InvalidationChannel } from '../invalidation/index.ts';
import { decryptSecret, encryptSecret } from '../secrets/index.ts';
import {
  isUniqueViolation,
  type Repositories,
  type Store,
  type UpstreamPatch,
  type UpstreamRecord,
  type UpstreamRoute,
  type UpstreamTimeouts,
  type UpstreamType,
} from '../store/index.ts';
import type { UpstreamHostGuard } from './host-guard.ts';
import { ALWAYS_REFUSED } from './host-policy.ts';
import {
  DEFAULT_AUTH_HEADER,
  DEFAULT_AUTH_SCHEME,
  DEFAULT_TIMEOUTS,
  mergeTimeouts,
  normalizeAuthHeader,
  normalizeBaseUrl,
  type PriceInput,
  pricesFrom,
  secretHint,
  validateAuthScheme,
  validateEnvironments,
  validateRoutes,
  validateSecret,
  validateUpstreamName,
  validateUpstreamType,
} from './validate.ts';

export interface CreateUpstreamInput {
  name: string;
  type: UpstreamType;
  baseUrl: string;
  /** The provider's secret; sealed before it is stored, never returned. */
  secret?: string | null;
  authHeader?: string;
  authScheme?: string | null;
  environments?: string[] | null;
  /** Missing fields take the defaults. */
  timeouts?: Partial<UpstreamTimeouts>;
  routes?: UpstreamRoute[];
  prices?: Record<string, PriceInput>;
}

/**
 * Fields given replace the current value (`secret` rotates the secret, null removes it),
 * except `timeouts`, whose missing fields keep theirs. The type cannot change.
 */
export type UpdateUpstreamInput = Partial<Omit<CreateUpstreamInput, 'type'>>;

export interface UpdateUpstreamOptions {
  /**
   * Move an upstream to another origin with the secret it has. Only for callers the route
   * found to hold `upstreams:admin`: without it, a new origin needs the secret again.
   */
  keepSecretOnOriginChange?: boolean;
}

export interface ResolvedUpstream {
  upstream: UpstreamRecord;
  /** The plaintext secret: for the gateway to inject, never to return, log or audit. */
  secret: string | null;
}

/** The additional data a sealed secret is bound to: a ciphertext moved to another row fails. */
const secretContext = (id: string) => `upstream:${id}`;

/**
 * The APIs the gateway forwards to. Every change is validated, written with its audit entry
 * in one transaction (the details say `secretChanged`, never the secret) and announced on the
 * invalidation channel, so that every node's gateway stops using the old settings.
 */
export class UpstreamService {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #invalidation: InvalidationChannel;
  readonly #masterKey: Buffer;
  readonly #hosts: UpstreamHostGuard;

  constructor(deps: {
    store: Store;
    clock: Clock;
    invalidation: InvalidationChannel;
    masterKey: Buffer;
    hosts: UpstreamHostGuard;
  }) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#invalidation = deps.invalidation;
    this.#masterKey = deps.masterKey;
    this.#hosts = deps.hosts;
  }

  /**
   * Stored upstreams whose host the policy refuses as written (no lookup): they were created
   * before it, and are named in the start log and /readyz until their base URL is changed.
   * `tolerated`: they still work (loopback, this node's port); otherwise every connect fails.
   */
  async refusedByHostPolicy(): Promise<
    { name: string; host: string; reason: string; tolerated: boolean }[]
  > {
    const refused = [];
    for (const upstream of await this.#store.upstreams.list()) {
      const verdict = this.#hosts.verdictFor(upstream.baseUrl);
      if (!verdict.allowed)
        refused.push({
          name: upstream.name,
          host: verdict.subject,
          reason: verdict.reason,
          tolerated: !ALWAYS_REFUSED.has(verdict.reason),
        });
    }
    return refused;
  }

  list(): Promise<UpstreamRecord[]> {
    return this.#store.upstreams.list();
  }

  /** By id (`ups_…`) or by name. */
  async get(ref: string): Promise<UpstreamRecord> {
    const upstream =
      (await this.#store.upstreams.findById(ref)) ?? (await this.#store.upstreams.findByName(ref));
    if (!upstream) throw notFound('upstream', ref);
    return upstream;
  }

  /** For the gateway only: the upstream named `name` with its secret unsealed; null if none. */
  async resolve(name: string): Promise<ResolvedUpstream | null> {
    const upstream = await this.#store.upstreams.findByName(name);
    if (!upstream) return null;
    const secret =
      upstream.secretSealed === null
        ? null
        : decryptSecret(this.#masterKey, upstream.secretSealed, secretContext(upstream.id));
    return { upstream, secret };
  }

  async create(input: CreateUpstreamInput, actor: Actor): Promise<UpstreamRecord> {
    validateUpstreamName(input.name);
    validateUpstreamType(input.type);
    const baseUrl = normalizeBaseUrl(input.baseUrl);
    const authHeader = normalizeAuthHeader(input.authHeader ?? DEFAULT_AUTH_HEADER);
    const authScheme = input.authScheme === undefined ? DEFAULT_AUTH_SCHEME : input.authScheme;
    validateAuthScheme(authScheme);
    const environments = input.environments ?? null;
    validateEnvironments(environments);
    const timeouts = mergeTimeouts(DEFAULT_TIMEOUTS, input.timeouts);
    const routes = validateRoutes(input.routes ?? []);
    const prices = pricesFrom(input.prices ?? {});
    if (input.secret !== undefined && input.secret !== null) validateSecret(input.secret);
    // Last: the one check that may wait for a lookup runs on input known to be well-formed.
    await this.#hosts.checkBaseUrl(baseUrl);

    const now = this.#clock.now();
    const id = newId('ups', now);
    const upstream: UpstreamRecord = {
      id,
      name: input.name,
      type: input.type,
      baseUrl,
      ...this.#seal(id, input.secret ?? null),
      authHeader,
      authScheme,
      environments,
      timeouts,
      routes,
      prices,
      createdAt: now,
      updatedAt: now,
    };
    await this.#write(input.name, async (tx) => {
      if (await tx.upstreams.findByName(input.name)) throw nameTaken(input.name);
      await tx.upstreams.insert(upstream);
      await tx.audit.append(
        auditEntry(
          actor,
          now,
          'upstream.create',
          { type: 'upstream', id },
          {
            name: upstream.name,
            type: upstream.type,
            baseUrl,
            authHeader,
            authScheme,
            environments,
            routes: routes.length,
            prices: Object.keys(prices).length,
            secretChanged: upstream.secretSealed !== null,
          },
        ),
      );
    });
    // A gateway that looked this name up before (and found nothing) must see it now.
    await this.#announce(upstream);
    return upstream;
  }

  async update(
    ref: string,
    input: UpdateUpstreamInput,
    actor: Actor,
    options: UpdateUpstreamOptions = {},
  ): Promise<UpstreamRecord> {
    const current = await this.get(ref);
    const patch: UpstreamPatch = {};
    if (input.name !== undefined) {
      validateUpstreamName(input.name);
      patch.name = input.name;
    }
    if (input.baseUrl !== undefined) patch.baseUrl = normalizeBaseUrl(input.baseUrl);
    if (input.secret !== undefined) {
      if (input.secret !== null) validateSecret(input.secret);
      Object.assign(patch, this.#seal(current.id, input.secret));
    }
    if (input.authHeader !== undefined) patch.authHeader = normalizeAuthHeader(input.authHeader);
    if (input.authScheme !== undefined) {
      validateAuthScheme(input.authScheme);
      patch.authScheme = input.authScheme;
    }
    if (input.environments !== undefined) {
      validateEnvironments(input.environments);
      patch.environments = input.environments;
    }
    if (input.timeouts !== undefined)
      patch.timeouts = mergeTimeouts(current.timeouts, input.timeouts);
    if (input.routes !== undefined) patch.routes = validateRoutes(input.routes);
    if (input.prices !== undefined) patch.prices = pricesFrom(input.prices);
    const origin = originChange(current.baseUrl, patch.baseUrl);
    // The secret is write-only: whoever moves it to another origin must be able to write it.
    // Otherwise `upstreams:write` alone could send it to a host of the caller's choosing.
    const keptSecret =
      origin !== null && current.secretSealed !== null && input.secret === undefined;
    if (keptSecret && !options.keepSecretOnOriginChange)
      throw invalidField(
        '/secret',
        `changing the origin (scheme, host or port) of an upstream that has a secret needs the secret again in the same request (or null to remove it); a holder of upstreams:admin may set keepSecretOnOriginChange instead`,
      );
    if (patch.baseUrl !== undefined) await this.#hosts.checkBaseUrl(patch.baseUrl);

    const now = this.#clock.now();
    patch.updatedAt = now;
    const renamed = patch.name !== undefined && patch.name !== current.name;
    const updated = await this.#write(patch.name ?? current.name, async (tx) => {
      if (renamed && (await tx.upstreams.findByName(patch.name!))) throw nameTaken(patch.name!);
      const next = await tx.upstreams.update(current.id, patch);
      if (!next) throw notFound('upstream', ref);
      await tx.audit.append(
        auditEntry(
          actor,
          now,
          'upstream.update',
          { type: 'upstream', id: current.id },
          {
            name: next.name,
            ...(renamed ? { previousName: current.name } : {}),
            fields: Object.keys(input),
            secretChanged: input.secret !== undefined,
            ...(origin ? { previousOrigin: origin.from, origin: origin.to } : {}),
            ...(keptSecret ? { secretKeptOnOriginChange: true } : {}),
          },
        ),
      );
      return next;
    });
    // The old name first: a gateway keyed by name must stop serving it under that name.
    await this.#announce(current);
    if (renamed) await this.#announce(updated);
    return updated;
  }

  async delete(ref: string, actor: Actor): Promise<void> {
    const current = await this.get(ref);
    const now = this.#clock.now();
    await this.#store.transaction(async (tx) => {
      if (!(await tx.upstreams.delete(current.id))) throw notFound('upstream', ref);
      await tx.audit.append(
        auditEntry(
          actor,
          now,
          'upstream.delete',
          { type: 'upstream', id: current.id },
          { name: current.name },
        ),
      );
    });
    await this.#announce(current);
  }

  #seal(id: string, secret: string | null): Pick<UpstreamRecord, 'secretSealed' | 'secretHint'> {
    return secret === null
      ? { secretSealed: null, secretHint: null }
      : {
          secretSealed: encryptSecret(this.#masterKey, secret, secretContext(id)),
          secretHint: secretHint(secret),
        };
  }

  /** Runs a write; a name taken by a racing writer (the unique index decides) is a 409. */
  async #write<T>(name: string, work: (tx: Repositories) => Promise<T>): Promise<T> {
    try {
      return await this.#store.transaction(work);
    } catch (error) {
      if (isUniqueViolation(error)) throw nameTaken(name);
      throw error;
    }
  }

  #announce(upstream: UpstreamRecord): Promise<void> {
    return this.#invalidation.publish({
      type: 'upstream',
      upstreamId: upstream.id,
      name: upstream.name,
    });
  }
}

/** The origins before and after, when a new base URL moves the upstream to another one. */
function originChange(
  current: string,
  next: string | undefined,
): { from: string; to: string } | null {
  if (next === undefined) return null;
  const from = new URL(current).origin;
  const to = new URL(next).origin;
  return from === to ? null : { from, to };
}

function nameTaken(name: string): KeywardenError {
  return new KeywardenError('ALREADY_EXISTS', `an upstream named ${name} exists`);
}
