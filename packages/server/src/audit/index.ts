/**
 * audit — who did what, in the store's hash-chained audit log. Owns building entries
 * (`auditEntry`, details redacted) and the bounded record of refused management calls
 * (`RefusalLog` around the pure `tallyRefusal`). It does not write changes: each service
 * appends its entry in the transaction of its change.
 */
export { type Actor, auditEntry, CLI_ACTOR } from './actor.ts';
export { RefusalLog } from './refusal-log.ts';
export {
  closeTally,
  MAX_REFUSAL_IPS,
  REFUSAL_WINDOW_MS,
  type Refusal,
  type RefusalRow,
  type RefusalTally,
  tallyExpired,
  tallyRefusal,
} from './refusals.ts';
