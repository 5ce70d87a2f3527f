export { type Actor, auditEntry, CLI_ACTOR } from './actor.ts';
