export { type ChainBreak, GENESIS_HASH, verifyAuditPage } from './audit-chain.ts';
export { isStoreUnavailable, isUniqueViolation } from './errors.ts';
export { openPostgresStore, type PostgresStoreOptions } from './postgres.ts';
export { openSqliteStore } from './sqlite.ts';
export type * from './types.ts';
