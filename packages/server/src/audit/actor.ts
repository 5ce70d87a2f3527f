import { redactDeep } from '../redaction/index.ts';
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
    details: redactDeep(details),
  };
}
