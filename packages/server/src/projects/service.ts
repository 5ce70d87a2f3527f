import { ENV_PATTERN, PREFIX_PATTERN } from '@keywarden/core';
import { type Actor, auditEntry } from '../audit/index.ts';
import type { Clock } from '../clock/index.ts';
import { invalidField, KeywardenError, notFound } from '../errors/index.ts';
import { newId } from '../ids/index.ts';
import type { InvalidationChannel } from '../invalidation/index.ts';
import { MANAGEMENT_PROJECT, validateRatelimits } from '../keys/index.ts';
import {
  isUniqueViolation,
  type ProjectRecord,
  type RateLimitDefaults,
  type RotationPolicy,
  type Store,
} from '../store/index.ts';

export interface CreateProjectInput {
  name: string;
  prefix: string;
  environments?: string[];
  allowQueryKey?: boolean;
  ratelimitDefaults?: RateLimitDefaults;
  rotationPolicy?: RotationPolicy;
  revokeOnLeak?: boolean;
}

export type UpdateProjectInput = Partial<
  Pick<
    CreateProjectInput,
    | 'name'
    | 'environments'
    | 'allowQueryKey'
    | 'ratelimitDefaults'
    | 'rotationPolicy'
    | 'revokeOnLeak'
  >
>;

export const PROJECT_NAME_PATTERN = '^[a-z0-9][a-z0-9-]{0,62}$';
const RESERVED_PREFIXES = new Set(['kwadmin']);

function validateEnvironments(envs: readonly string[]): void {
  envs.forEach((env, i) => {
    if (!ENV_PATTERN.test(env)) throw invalidField(`/environments/${i}`, 'must match [a-z]{2,10}');
  });
  if (new Set(envs).size !== envs.length) throw invalidField('/environments', 'must not repeat');
}

function validateDefaults(defaults: RateLimitDefaults | undefined): void {
  for (const [env, rules] of Object.entries(defaults ?? {})) {
    validateRatelimits(`/ratelimitDefaults/${env}`, rules);
  }
}

/** Projects group keys under one prefix and a set of environments. */
export class ProjectService {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #invalidation: InvalidationChannel;

  constructor(deps: { store: Store; clock: Clock; invalidation: InvalidationChannel }) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#invalidation = deps.invalidation;
  }

  async list(): Promise<ProjectRecord[]> {
    return (await this.#store.projects.list()).filter((p) => p.name !== MANAGEMENT_PROJECT);
  }

  async get(ref: string): Promise<ProjectRecord> {
    const project =
      (await this.#store.projects.findById(ref)) ?? (await this.#store.projects.findByName(ref));
    if (!project || project.name === MANAGEMENT_PROJECT) throw notFound('project', ref);
    return project;
  }

  async create(input: CreateProjectInput, actor: Actor): Promise<ProjectRecord> {
    if (!PREFIX_PATTERN.test(input.prefix) || RESERVED_PREFIXES.has(input.prefix)) {
      throw invalidField('/prefix', 'must match [a-z][a-z0-9]{1,11} and not be reserved');
    }
    const environments = input.environments ?? ['dev', 'staging', 'prod'];
    validateEnvironments(environments);
    validateDefaults(input.ratelimitDefaults);
    const now = this.#clock.now();
    const project: ProjectRecord = {
      id: newId('prj', now),
      name: input.name,
      prefix: input.prefix,
      environments,
      allowQueryKey: input.allowQueryKey ?? false,
      ratelimitDefaults: input.ratelimitDefaults ?? {},
      rotationPolicy: input.rotationPolicy ?? {},
      revokeOnLeak: input.revokeOnLeak ?? true,
      createdAt: now,
      updatedAt: now,
    };
    try {
      await this.#store.transaction(async (tx) => {
        if (await tx.projects.findByName(input.name)) {
          throw new KeywardenError('ALREADY_EXISTS', `a project named ${input.name} exists`);
        }
        if (await tx.projects.findByPrefix(input.prefix)) {
          throw new KeywardenError('ALREADY_EXISTS', `the prefix ${input.prefix} is taken`);
        }
        await tx.projects.insert(project);
        await tx.audit.append(
          auditEntry(
            actor,
            now,
            'project.create',
            { type: 'project', id: project.id },
            { ...input },
          ),
        );
      });
    } catch (error) {
      // Two creates raced past the checks above: the database's unique index decided.
      if (isUniqueViolation(error))
        throw new KeywardenError(
          'ALREADY_EXISTS',
          `the name ${input.name} or prefix ${input.prefix} is taken`,
        );
      throw error;
    }
    return project;
  }

  async update(ref: string, input: UpdateProjectInput, actor: Actor): Promise<ProjectRecord> {
    if (input.environments) validateEnvironments(input.environments);
    validateDefaults(input.ratelimitDefaults);
    const current = await this.get(ref);
    const now = this.#clock.now();
    const updated = await this.#store.transaction(async (tx) => {
      if (input.name && input.name !== current.name && (await tx.projects.findByName(input.name))) {
        throw new KeywardenError('ALREADY_EXISTS', `a project named ${input.name} exists`);
      }
      const next = await tx.projects.update(current.id, { ...input, updatedAt: now });
      await tx.audit.append(
        auditEntry(actor, now, 'project.update', { type: 'project', id: current.id }, { ...input }),
      );
      return next!;
    });
    await this.#invalidation.publish({ type: 'project', projectId: current.id });
    return updated;
  }

  /** Only an empty project can be deleted: keys are never dropped as a side effect. */
  async delete(ref: string, actor: Actor): Promise<void> {
    const current = await this.get(ref);
    const now = this.#clock.now();
    await this.#store.transaction(async (tx) => {
      const keys = await tx.projects.countKeys(current.id);
      if (keys > 0)
        throw new KeywardenError(
          'PROJECT_NOT_EMPTY',
          `project ${current.name} still has ${keys} keys`,
        );
      await tx.projects.delete(current.id);
      await tx.audit.append(
        auditEntry(
          actor,
          now,
          'project.delete',
          { type: 'project', id: current.id },
          { name: current.name },
        ),
      );
    });
    await this.#invalidation.publish({ type: 'project', projectId: current.id });
  }
}
