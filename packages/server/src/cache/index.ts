export { type CachedKey, KeyCache, type KeyCacheOptions } from './key-cache.ts';
