import type { ConnectionParams } from '../core/plugin.ts';
import type { TokenCache } from '../core/token-cache.ts';

/**
 * The token-related connection params every cloud plugin returns: the password function and the
 * hooks adapters and apps use (rejection, expiry, counters, events).
 *
 * @example
 * return { user, ssl, ...connectionParamsFromCache(cache) };
 */
export function connectionParamsFromCache(cache: TokenCache): ConnectionParams {
  return {
    password: () => cache.getToken(),
    onLoginRejected: () => cache.invalidate(),
    tokenExpiresAtMs: () => cache.expiresAtMs(),
    tokenStats: () => cache.stats(),
    onTokenEvent: (listener) => cache.on(listener),
  };
}
