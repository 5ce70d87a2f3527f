export { currentAt, decideFreshness, type Freshness, type FreshnessPolicy } from './freshness.ts';
export { type CachedKey, KeyCache, type KeyCacheOptions } from './key-cache.ts';
export { LoadGuard, type LoadTicket } from './load-guard.ts';
export { OwnerCache } from './owner-cache.ts';
export { repeatedFailureLog } from './repeated-failures.ts';
export {
  afterStoreCall,
  type BreakerPolicy,
  type BreakerState,
  decideStoreAccess,
  type StoreAccess,
  StoreBreaker,
} from './store-breaker.ts';
export { type FaultWiring, wireCacheFaults } from './wiring.ts';
