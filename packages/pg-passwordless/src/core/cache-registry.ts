import { createTokenCache, type TokenCache, type TokenCacheOptions } from './token-cache.ts';

/**
 * Shares token caches between host calls: an app that opens three pools for the same identity and
 * server fetches one token, not three. Keys name the identity and the target (never a secret); a
 * `variant` names how the cache behaves (its `tokenCache` settings), so that a pool created with
 * another budget or policy gets a cache of its own instead of silently sharing the first one's.
 *
 * @example
 * import { createCacheRegistry, SecretToken } from 'pg-passwordless';
 *
 * const registry = createCacheRegistry();
 * const fetchToken = async () => ({ token: new SecretToken('t'), expiresAtMs: Date.now() + 3_600_000 });
 * const options = () => ({ source: { describe: () => 'fixed', fetchToken } });
 * const first = registry.getOrCreate('azure|client-id|scope', options);
 * const second = registry.getOrCreate('azure|client-id|scope', options);
 * const patient = registry.getOrCreate('azure|client-id|scope', options, '{"timeoutMs":30000}');
 * console.log(second === first, patient === first); // true false
 * registry.clear(); // closes every cache
 */
export interface CacheRegistry {
  getOrCreate(key: string | object, makeOptions: () => TokenCacheOptions, variant?: string): TokenCache;
  /** Closes and forgets every cache (tests, shutdown). */
  clear(): void;
}

/** Creates an empty registry. */
export function createCacheRegistry(): CacheRegistry {
  const byName = new Map<string, TokenCache>();
  // Caches keyed by a user's credential object die with it, one per variant.
  const byObject = new WeakMap<object, Map<string, TokenCache>>();
  const all = new Set<TokenCache>(); // the string-keyed ones, closed by clear()
  return {
    getOrCreate(key, makeOptions, variant = '') {
      if (typeof key === 'string') {
        const name = `${key}\u0000${variant}`;
        let cache = byName.get(name);
        if (!cache) {
          cache = createTokenCache(makeOptions());
          byName.set(name, cache);
          all.add(cache);
        }
        return cache;
      }
      let variants = byObject.get(key);
      if (!variants) {
        variants = new Map();
        byObject.set(key, variants);
      }
      let cache = variants.get(variant);
      if (!cache) {
        cache = createTokenCache(makeOptions());
        variants.set(variant, cache);
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
