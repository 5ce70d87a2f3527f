import { budgetsToInput } from '../keys/index.ts';
import { microsToUnits } from '../money/index.ts';
import type {
  AuditEntry,
  KeyRecord,
  OwnerRecord,
  ProjectRecord,
  StoredCredits,
  UpstreamRecord,
} from '../store/index.ts';

/** Store records → API JSON: ISO 8601 times, and never the hash or the pepper version. */
const iso = (ms: number) => new Date(ms).toISOString();
const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));

export function keyToJson(key: KeyRecord) {
  return {
    id: key.id,
    name: key.name,
    projectId: key.projectId,
    env: key.env,
    display: key.display,
    scopes: key.scopes,
    status: key.status,
    ownerId: key.ownerId,
    meta: key.meta,
    expiresAt: isoOrNull(key.expiresAt),
    allowedIps: key.allowedIps,
    createdAt: iso(key.createdAt),
    updatedAt: iso(key.updatedAt),
    lastUsedAt: isoOrNull(key.lastUsedAt),
    lastUsedIp: key.lastUsedIp,
    rotatedFromId: key.rotatedFromId,
    revokedAt: isoOrNull(key.revokedAt),
    ratelimits: key.ratelimits,
    credits: creditsToJson(key.credits),
    rotatedToId: key.rotatedToId,
    models: key.models,
    budgets: budgetsToInput(key.budgets),
  };
}

function creditsToJson(credits: StoredCredits | null) {
  return (
    credits && {
      remaining: credits.remaining,
      refill: credits.refill,
      refilledAt: iso(credits.refilledAt),
    }
  );
}

export function ownerToJson(owner: OwnerRecord) {
  return {
    id: owner.id,
    ratelimits: owner.ratelimits,
    credits: creditsToJson(owner.credits),
    budgets: budgetsToInput(owner.budgets),
    createdAt: iso(owner.createdAt),
    updatedAt: iso(owner.updatedAt),
  };
}

export function projectToJson(project: ProjectRecord) {
  return { ...project, createdAt: iso(project.createdAt), updatedAt: iso(project.updatedAt) };
}

/** Never the sealed secret: whether there is one, and its hint. Prices back in units. */
export function upstreamToJson(upstream: UpstreamRecord) {
  const { secretSealed, prices, ...rest } = upstream;
  return {
    ...rest,
    hasSecret: secretSealed !== null,
    prices: Object.fromEntries(
      Object.entries(prices).map(([model, price]) => [
        model,
        {
          input: microsToUnits(price.inputMicrosPerMTok),
          output: microsToUnits(price.outputMicrosPerMTok),
        },
      ]),
    ),
    createdAt: iso(upstream.createdAt),
    updatedAt: iso(upstream.updatedAt),
  };
}

export function auditToJson(entry: AuditEntry) {
  const { prevHash: _prevHash, ...rest } = entry;
  return { ...rest, at: iso(entry.at) };
}

/** Opaque cursors: callers must not build them, so their format can change. */
export function encodeCursor(value: string | number): string {
  return Buffer.from(String(value)).toString('base64url');
}

export function decodeCursor(cursor: string): string | null {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) return null;
  return Buffer.from(cursor, 'base64url').toString('utf8');
}
