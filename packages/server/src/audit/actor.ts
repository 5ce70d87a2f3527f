import { redactSecrets } from '@keywarden/core';
import type { AuditEntryInput, AuditResult } from '../store/index.ts';

/** Who does a management action, and from where: carried from the HTTP layer or the CLI. */
export interface Actor {
  id: string;
  display: string;
  ip: string | null;
  requestId: string | null;
}

export const CLI_ACTOR: Actor = { id: 'cli', display: 'keywarden CLI', ip: null, requestId: null };

/**
 * Builds an audit entry. Details pass through the one redaction function: user-supplied
 * fields (names, metadata) could carry a pasted secret.
 */
export function auditEntry(
  actor: Actor,
  at: number,
  action: string,
  target: { type: string; id: string | null },
  details: Record<string, unknown> = {},
  result: AuditResult = 'success',
): AuditEntryInput {
  return {
    at,
    actorId: actor.id,
    actorDisplay: actor.display,
    action,
    targetType: target.type,
    targetId: target.id,
    ip: actor.ip,
    result,
    requestId: actor.requestId,
    details: redactValue(details) as Record<string, unknown>,
  };
}

function redactValue(value: unknown): unknown {
  if (typeof value === 'string') return redactSecrets(value);
  if (Array.isArray(value)) return value.map(redactValue);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactValue(v)]));
  }
  return value;
}
