import type { ConnectionTarget } from './connection-url.ts';
import type { ResolvedSettings } from './settings.ts';
import type { DriverTls } from './tls.ts';
import type { TokenCacheEvent, TokenCacheStats } from './token-cache.ts';

/**
 * The app's handle on the token cache behind a password function: one object, so that a later plugin
 * replaces it whole or not at all. It never exposes anything but the token itself through `getToken`.
 *
 * @example
 * import { createPool } from 'pg-passwordless/pg';
 *
 * const pool = await createPool(process.env.DATABASE_URL ?? '');
 * pool.token?.on((event) => console.log('token event', event.type));
 * console.log('token expires at', pool.token?.expiresAtMs(), pool.token?.stats());
 * await pool.end();
 */
export interface TokenHandle {
  /** The current token, fetched first only when no usable one is cached. */
  getToken(): Promise<string>;
  /**
   * The server rejected the current token: drop it and fetch a new one, past the identity SDK's own
   * cache where the SDK allows it. `renewed` is false when the SDK answered with the rejected token
   * again (MSAL caches managed-identity tokens process-wide), so a retry would be pointless.
   */
  invalidate(): Promise<{ renewed: boolean }>;
  /** When the cached token expires, or undefined when none is cached. */
  expiresAtMs(): number | undefined;
  /** Counters (fetches, cache hits, waits) for metrics. */
  stats(): TokenCacheStats;
  /** Subscribes to the cache's events (new token, retries, errors); returns the unsubscribe function. */
  on(listener: (event: TokenCacheEvent) => void): () => void;
}

/**
 * What plugins return and adapters consume: driver-neutral connection parameters. `password` is
 * called for every new physical connection and returns the current token; `token` is the handle on
 * the cache behind it. Every other key (`application_name`, `options`, ...) is forwarded to the
 * driver unchanged, as the reference system merges plugin results into the driver's connect arguments.
 */
export interface ConnectionParams {
  user?: string;
  password?: () => Promise<string>;
  ssl?: DriverTls;
  token?: TokenHandle;
  [driverOption: string]: unknown;
}

/**
 * A plugin: the TypeScript form of the reference system's `set_database_connection_params` hook.
 * It may be sync or async; an empty object (or undefined) means "nothing to add". The host passes the
 * URL and the resolved settings, as the reference does, and the URL parsed once as a third argument,
 * which two-argument plugins simply ignore.
 *
 * @example
 * import type { Plugin } from 'pg-passwordless';
 *
 * export const plugin: Plugin = {
 *   name: 'app-name',
 *   setDatabaseConnectionParams: (_url, _settings, target) => ({ application_name: `orders-api@${target.host}` }),
 * };
 */
export interface Plugin {
  name: string;
  setDatabaseConnectionParams(
    connectionUrl: string,
    settings: ResolvedSettings,
    target: ConnectionTarget,
  ): ConnectionParams | undefined | Promise<ConnectionParams | undefined>;
}

/** Whether a value has the shape of a plugin. */
export function isPlugin(value: unknown): value is Plugin {
  const candidate = value as Partial<Plugin> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.name === 'string' &&
    candidate.name !== '' &&
    typeof candidate.setDatabaseConnectionParams === 'function'
  );
}

/**
 * Merges one plugin's result into the params so far, the later plugin winning key by key. The
 * password and the token handle travel together: a plugin that returns a handle brings the password
 * that reads it, and one that returns only a password function drops the handle it no longer backs.
 */
export function mergeConnectionParams(into: ConnectionParams, result: ConnectionParams): void {
  const { token, password, ...driverOptions } = result;
  Object.assign(into, driverOptions);
  if (token) {
    // Not enumerable: spreading the params into a driver's options passes the password, not the handle.
    Object.defineProperty(into, 'token', {
      value: token,
      enumerable: false,
      configurable: true,
      writable: true,
    });
    into.password = password ?? (() => token.getToken());
  } else if (password !== undefined) {
    into.password = password;
    delete into.token;
  }
}
