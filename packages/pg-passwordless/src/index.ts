import type { Env } from './core/connection-url.ts';
import type { ConnectionParams } from './core/contract.ts';
import { type ResolvedConnection, runPluginHost } from './core/plugin-host.ts';
import {
  type CoreSettings,
  ensureResolved,
  type ResolvedSettings,
  resolveSettings as resolveCoreSettings,
} from './core/settings.ts';
import type { AwsSettings } from './plugins/aws/settings.ts';
import type { AzureSettings } from './plugins/azure/settings.ts';
import { builtInPlugins } from './plugins/built-in.ts';
import type { GcpSettings } from './plugins/gcp/settings.ts';

export type { CacheRegistry } from './core/cache-registry.ts';
export { createCacheRegistry, sharedCacheRegistry } from './core/cache-registry.ts';
export type { Clock, TimerHandle } from './core/clock.ts';
export { systemClock } from './core/clock.ts';
export type { ConnectionTarget, Env } from './core/connection-url.ts';
export { parseConnectionUrl, redactUrl } from './core/connection-url.ts';
export type { ConnectionParams, Plugin, TokenHandle } from './core/contract.ts';
export type { ErrorCode, PasswordlessErrorOptions } from './core/errors.ts';
export { PasswordlessError } from './core/errors.ts';
export type { ClassifyOptions, Failure, FailureReason } from './core/failure.ts';
export { classifyFailure } from './core/failure.ts';
export type { FailureHints } from './core/failure-error.ts';
export { failureToError } from './core/failure-error.ts';
export type { Logger } from './core/logger.ts';
export type { ResolvedConnection } from './core/plugin-host.ts';
export type { RefreshPolicyOptions } from './core/refresh-policy.ts';
export type { RetryOptions } from './core/retry.ts';
export { isRetryable, minimumRetryDelayMs, UNKNOWN_RETRY_AFTER_MS, withRetry } from './core/retry.ts';
export { SecretToken } from './core/secret.ts';
export type { CoreSettings, ResolvedSettings, TokenCacheSettings } from './core/settings.ts';
export { parseBool } from './core/settings.ts';
export type { DriverTls, TlsSettings } from './core/tls.ts';
export type { TokenCache, TokenCacheEvent, TokenCacheOptions, TokenCacheStats } from './core/token-cache.ts';
export { createTokenCache, DEFAULT_TOKEN_TIMEOUT_MS, tokenHandle } from './core/token-cache.ts';
export type { FetchedToken, FetchOptions, TokenSource } from './core/token-source.ts';
export type { AwsCredentialsLike, AwsCredentialsProviderLike, AwsSettings } from './plugins/aws/settings.ts';
export { resolveAwsSettings } from './plugins/aws/settings.ts';
export { rdsTokenSource } from './plugins/aws/token-source.ts';
export { AZURE_POSTGRES_RESOURCES, azureScope } from './plugins/azure/cloud.ts';
export type { AzureCloud, AzureSettings, TokenCredentialLike } from './plugins/azure/settings.ts';
export { resolveAzureSettings } from './plugins/azure/settings.ts';
export { azureCredentialOptions, azureTokenSource } from './plugins/azure/token-source.ts';
export { builtInPlugins } from './plugins/built-in.ts';
export { cloudSqlUserOf } from './plugins/gcp/plugin.ts';
export type { GcpSettings, GoogleAuthLike } from './plugins/gcp/settings.ts';
export { resolveGcpSettings } from './plugins/gcp/settings.ts';
export { gcpTokenSource, SQLSERVICE_LOGIN_SCOPE } from './plugins/gcp/token-source.ts';

/**
 * Programmatic settings: the host's own, plus one section per built-in plugin. Every field is
 * optional; explicit values beat the environment.
 */
export interface Settings extends CoreSettings {
  azure?: AzureSettings;
  aws?: AwsSettings;
  gcp?: GcpSettings;
}

/**
 * Resolves settings once, in one pure function: explicit values beat the environment, which beats the
 * defaults. `PG_PASSWORDLESS_ENABLED` gates only what the environment switches on; a plugin section
 * enabled in code needs no gate. Each plugin section is resolved by its plugin (`resolveAzureSettings`).
 *
 * @example
 * import { resolveSettings } from 'pg-passwordless';
 *
 * console.log(resolveSettings({ azure: { enabled: true } }, {}).enabled); // true
 * console.log(resolveSettings(undefined, { PG_PASSWORDLESS_AZURE_ENABLED: 'true' }).enabled); // false: no gate
 */
export function resolveSettings(settings?: Settings, env?: Env): ResolvedSettings {
  return resolveCoreSettings(settings, env);
}

/**
 * The reference system's `set_database_connection_params` hook for Node: runs the built-in plugins
 * (`azure`, `aws`, `gcp`) and any third-party ones, and returns what to connect with. Off (returns
 * `{}`) unless `PG_PASSWORDLESS_ENABLED=true` or the settings enable a plugin in code.
 *
 * @example
 * import pg from 'pg';
 * import { parseConnectionUrl, setDatabaseConnectionParams } from 'pg-passwordless';
 *
 * // DATABASE_URL=postgresql://orders-api@myserver.postgres.database.azure.com/orders
 * const url = process.env.DATABASE_URL ?? '';
 * const params = await setDatabaseConnectionParams(url, { azure: { enabled: true } });
 * // Not { connectionString: url, ...params }: pg lets the URL's (empty) password and sslmode override
 * // explicit options. Pass the parts (or use pgConfig from 'pg-passwordless/pg', which does this).
 * const { host, port, database } = parseConnectionUrl(url);
 * const client = new pg.Client({ host, port, database, ...params });
 * await client.connect();
 * console.log((await client.query('select current_user')).rows[0]);
 * await client.end();
 */
export async function setDatabaseConnectionParams(
  connectionUrl: string,
  settings?: Settings | ResolvedSettings,
): Promise<ConnectionParams> {
  const resolved = ensureResolved(settings);
  // Off means off: not even the URL is read, as the reference system does when plugins are disabled.
  if (!resolved.enabled) return {};
  return (await resolveConnection(connectionUrl, resolved)).params;
}

/**
 * What adapters build on: the URL parsed once, the plugins' merged params, and the resolved settings.
 *
 * @example
 * import { resolveConnection } from 'pg-passwordless';
 *
 * const { target, params } = await resolveConnection(process.env.DATABASE_URL ?? '', { azure: { enabled: true } });
 * console.log(target.host, target.port, params.user);
 */
export function resolveConnection(
  connectionUrl: string,
  settings?: Settings | ResolvedSettings,
): Promise<ResolvedConnection> {
  return runPluginHost(connectionUrl, settings, builtInPlugins);
}
