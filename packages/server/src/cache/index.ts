export { type CachedKey, KeyCache, type KeyCacheOptions } from './key-cache.ts';
export { OwnerCache } from './owner-cache.ts';
