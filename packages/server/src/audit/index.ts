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
