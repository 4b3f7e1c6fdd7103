import { createTokenCache, type TokenCache, type TokenCacheOptions } from './token-cache.ts';

/**
 * Shares token caches between host calls: an app that opens three pools for the same identity and
 * server fetches one token, not three. Keys name the identity and the target (never a secret).
 *
 * @example
 * import { createCacheRegistry, SecretToken } from 'pg-passwordless';
 *
 * const registry = createCacheRegistry();
 * const fetchToken = async () => ({ token: new SecretToken('t'), expiresAtMs: Date.now() + 3_600_000 });
 * const options = () => ({ source: { describe: () => 'fixed', fetchToken } });
 * const first = registry.getOrCreate('azure|client-id|scope', options);
 * const second = registry.getOrCreate('azure|client-id|scope', options);
 * console.log(second === first); // true: one cache, one token
 * registry.clear(); // closes every cache
 */
export interface CacheRegistry {
  getOrCreate(key: string | object, makeOptions: () => TokenCacheOptions): TokenCache;
  /** Closes and forgets every cache (tests, shutdown). */
  clear(): void;
}

/** Creates an empty registry. */
export function createCacheRegistry(): CacheRegistry {
  const byName = new Map<string, TokenCache>();
  // Caches keyed by a user's credential object die with it.
  const byObject = new WeakMap<object, TokenCache>();
  const all = new Set<TokenCache>(); // the string-keyed ones, closed by clear()
  return {
    getOrCreate(key, makeOptions) {
      const existing = typeof key === 'string' ? byName.get(key) : byObject.get(key);
      if (existing) return existing;
      const cache = createTokenCache(makeOptions());
      if (typeof key === 'string') {
        byName.set(key, cache);
        all.add(cache);
      } else {
        byObject.set(key, cache);
      }
      return cache;
    },
    clear() {
      for (const cache of all) cache.close();
      all.clear();
      byName.clear();
    },
  };
}

/** The process-wide registry used unless settings pass another. */
export const sharedCacheRegistry: CacheRegistry = createCacheRegistry();
