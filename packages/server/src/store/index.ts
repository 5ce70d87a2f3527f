export { type ChainBreak, GENESIS_HASH, verifyAuditPage } from './audit-chain.ts';
export { openSqliteStore } from './sqlite.ts';
export type * from './types.ts';
