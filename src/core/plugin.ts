import type { ResolvedSettings } from './settings.ts';
import type { DriverTls } from './tls.ts';
import type { TokenCacheEvent, TokenCacheStats } from './token-cache.ts';

/**
 * What plugins return and adapters consume: driver-neutral connection parameters.
 * `password` is called for every new physical connection and returns the current token.
 */
export interface ConnectionParams {
  user?: string;
  password?: () => Promise<string>;
  ssl?: DriverTls;
  /** Tells adapters that the server rejected a token, so the next connection fetches a new one. */
  onLoginRejected?: () => void;
  /** When the current token expires, if known (for health endpoints; never the token itself). */
  tokenExpiresAtMs?: () => number | undefined;
  /** Counters of the token cache behind `password` (fetches, cache hits, waits), for metrics. */
  tokenStats?: () => TokenCacheStats;
  /** Subscribes to the token cache's events (new token, refresh errors, retries); returns the unsubscribe function. */
  onTokenEvent?: (listener: (event: TokenCacheEvent) => void) => () => void;
  [key: string]: unknown;
}

/**
 * A plugin: the TypeScript form of the reference system's `set_database_connection_params` hook.
 * It may be sync or async; an empty object (or undefined) means "nothing to add".
 *
 * @example
 * export const plugin: Plugin = {
 *   name: 'app-name',
 *   setDatabaseConnectionParams: () => ({ application_name: 'orders-api' }),
 * };
 */
export interface Plugin {
  name: string;
  setDatabaseConnectionParams(
    connectionUrl: string,
    settings: ResolvedSettings,
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
