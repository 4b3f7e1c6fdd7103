import type { CacheRegistry } from './cache-registry.ts';
import type { CloudDefinition } from './cloud.ts';
import type { ConnectionTarget, Env } from './connection-url.ts';
import type { Logger } from './logger.ts';
import type { RefreshMode, RefreshPolicyOptions } from './refresh-policy.ts';
import type { RetryOptions } from './retry.ts';
import type { DriverTls, TlsSettings } from './tls.ts';
import type { TokenHandle } from './token-handle.ts';

export type { TokenHandle } from './token-handle.ts';

/**
 * The public contract of pg-passwordless in types: what plugins receive and return, and the settings
 * of the plugin host. Types only, so that every part of the core can read it without import circles.
 */

/** How the token cache behaves; the defaults suit every cloud. */
export interface TokenCacheSettings {
  policy?: Partial<RefreshPolicyOptions>;
  retry?: Partial<RetryOptions>;
  /**
   * How long a new connection may wait for a token when none is cached, the identity SDK's own
   * retries included. Kept well under PostgreSQL's `authentication_timeout` (60 s).
   */
  timeoutMs?: number;
  /**
   * `ahead` (default): refreshed by a background timer before expiry. `lazy`: no timer; the first
   * connection that finds the token in its refresh window refreshes it (serverless platforms that
   * freeze the CPU between requests). `PG_PASSWORDLESS_REFRESH=lazy` sets it from the environment.
   */
  refresh?: RefreshMode;
}

/**
 * The settings of the plugin host itself. Each cloud reads its own section (named as the cloud) from
 * the same object; the package entry's `Settings` type lists the built-in sections.
 */
export interface CoreSettings {
  /** Turns the plugin host on. Implied when a plugin section says `enabled: true`. */
  enabled?: boolean;
  /** Only these plugin names run. */
  allow?: string[];
  /** These plugin names never run. */
  deny?: string[];
  /** Extra plugins and clouds: objects, or module specifiers to import. */
  plugins?: Array<Plugin | CloudDefinition | string>;
  /** How long one plugin may take before it is skipped with a warning. */
  pluginTimeoutMs?: number;
  tls?: TlsSettings;
  tokenCache?: TokenCacheSettings;
  logger?: Logger;
  /** The environment to read; `process.env` by default. */
  env?: Env;
  /** Where token caches are shared; one per process by default. */
  caches?: CacheRegistry;
}

/** The host's settings after precedence is applied (explicit > environment > defaults). */
export interface ResolvedCoreSettings {
  enabled: boolean;
  allow: ReadonlySet<string> | undefined;
  deny: ReadonlySet<string>;
  plugins: ReadonlyArray<Plugin | CloudDefinition | string>;
  pluginTimeoutMs: number;
  tls: TlsSettings;
  tokenCache: TokenCacheSettings;
  logger: Logger;
  env: Env;
  caches: CacheRegistry;
}

/**
 * What a plugin receives: the resolved host settings, plus every plugin section as the caller gave
 * it (a plugin resolves its own section against the environment).
 */
export type ResolvedSettings = ResolvedCoreSettings & { readonly [section: string]: unknown };

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
