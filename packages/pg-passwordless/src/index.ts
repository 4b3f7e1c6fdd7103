import type { CloudDefinition, CloudSection } from './core/cloud.ts';
import type { Env } from './core/connection-url.ts';
import type { ConnectionParams, CoreSettings, ResolvedSettings } from './core/contract.ts';
import { type ResolvedConnection, registered, runPluginHost } from './core/plugin-host.ts';
import { ensureResolved, resolveSettings as resolveCoreSettings } from './core/settings.ts';
import { builtInClouds } from './plugins/built-in.ts';

export type { CacheRegistry } from './core/cache-registry.ts';
export { createCacheRegistry, sharedCacheRegistry } from './core/cache-registry.ts';
export type { Clock, TimerHandle } from './core/clock.ts';
export { systemClock } from './core/clock.ts';
export type {
  CloudCa,
  CloudDefinition,
  CloudIdentity,
  CloudRequest,
  CloudSection,
  RoleChoice,
} from './core/cloud.ts';
export { defineCloud } from './core/cloud.ts';
export type { CloudResolution } from './core/cloud-connection.ts';
export type { ConnectionTarget, Env } from './core/connection-url.ts';
export { parseConnectionUrl, redactUrl } from './core/connection-url.ts';
export type {
  ConnectionParams,
  CoreSettings,
  Plugin,
  ResolvedSettings,
  TokenCacheSettings,
  TokenHandle,
} from './core/contract.ts';
export type {
  CloudDoctor,
  CredentialContext,
  CredentialFinding,
  LoginContext,
  LoginDiagnosis,
  TokenCheck,
  TokenFacts,
} from './core/doctor-hooks.ts';
export type { ErrorCode, PasswordlessErrorOptions } from './core/errors.ts';
export { PasswordlessError } from './core/errors.ts';
export type { FailureHints } from './core/failure-error.ts';
export { failureToError } from './core/failure-error.ts';
export type { Logger } from './core/logger.ts';
export type { ResolvedConnection } from './core/plugin-host.ts';
export type { RefreshMode, RefreshPolicyOptions } from './core/refresh-policy.ts';
export type { RefusalReason, RefusalVerdict, RefusedLoginPolicy } from './core/refused-login.ts';
export { createRefusedLoginPolicy, isRefusedLogin } from './core/refused-login.ts';
export type { RetryOptions } from './core/retry.ts';
export { SecretToken } from './core/secret.ts';
export { parseBool } from './core/settings.ts';
export { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from './core/telemetry/prometheus.ts';
export type {
  HistogramSample,
  MetricAttributes,
  MetricFamily,
  MetricsSnapshot,
  ValueSample,
} from './core/telemetry/registry.ts';
export type {
  ProxyTelemetry,
  Telemetry,
  TelemetryLabels,
  TelemetryOptions,
  TokenCacheTelemetry,
} from './core/telemetry/telemetry.ts';
export { createTelemetry, sharedTelemetry } from './core/telemetry/telemetry.ts';
export type { CaSource, DriverTls, ResolvedTls, TlsSettings } from './core/tls.ts';
export type { TokenCache, TokenCacheEvent, TokenCacheOptions, TokenCacheStats } from './core/token-cache.ts';
export { createTokenCache, DEFAULT_TOKEN_TIMEOUT_MS, tokenHandle } from './core/token-cache.ts';
export type { FetchedToken, FetchOptions, TokenSource } from './core/token-source.ts';
export {
  type AwsCredentialsLike,
  type AwsCredentialsProviderLike,
  type AwsService,
  type AwsSettings,
  type AzureCloud,
  type AzureSettings,
  builtInClouds,
  type GcpSettings,
  type GoogleAuthLike,
  type TokenCredentialLike,
} from './plugins/built-in.ts';

/** The built-in clouds' settings sections, one per cloud, named as the cloud. */
type BuiltInSections = { [C in (typeof builtInClouds)[number] as C['name']]?: CloudSection<C> };

/**
 * Programmatic settings: the host's own, plus one section per built-in cloud (`azure`, `aws`, `gcp`).
 * Every field is optional; explicit values beat the environment.
 */
export interface Settings extends CoreSettings, BuiltInSections {}

/**
 * Settings with a section for a cloud of your own too, named as the cloud.
 *
 * @example
 * import { defineCloud, type SettingsWith } from 'pg-passwordless';
 *
 * const vault = defineCloud({
 *   name: 'vault',
 *   title: 'a token service',
 *   resolveOptions: (section: { url?: string }) => section,
 *   identify: () => {
 *     throw new Error('not needed for this example');
 *   },
 * });
 * const settings: SettingsWith<typeof vault> = { plugins: [vault], vault: { url: 'http://127.0.0.1:8200' } };
 * console.log(settings.vault?.url); // http://127.0.0.1:8200
 */
export type SettingsWith<C extends CloudDefinition> = Settings & { [N in C['name']]?: CloudSection<C> };

/**
 * Resolves settings once, in one pure function: explicit values beat the environment, which beats the
 * defaults. `PG_PASSWORDLESS_ENABLED` gates only what the environment switches on; a cloud section
 * enabled in code needs no gate. Each cloud resolves its own section when it runs.
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
 * The reference system's `set_database_connection_params` hook for Node: runs the built-in clouds
 * and any third-party plugins, and returns what to connect with. Off (returns `{}`) unless
 * `PG_PASSWORDLESS_ENABLED=true` or the settings enable a cloud or plugin in code.
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
 * The connection resolved once, as every reader sees it: the URL parsed, the plugins' merged params, the
 * TLS (mode, CA and where it came from), the cloud whose token is used and what it said, the role and
 * why, and the resolved settings. Adapters, the CLI and the doctor all build on it.
 *
 * @example
 * import { resolveConnection } from 'pg-passwordless';
 *
 * const { target, params, tls, role } = await resolveConnection(process.env.DATABASE_URL ?? '', { azure: { enabled: true } });
 * console.log(target.host, target.port, params.user, tls?.ca.from, role?.from);
 */
export function resolveConnection(
  connectionUrl: string,
  settings?: Settings | ResolvedSettings,
): Promise<ResolvedConnection> {
  return runPluginHost(connectionUrl, settings, builtInClouds);
}

/**
 * Every cloud this process knows: the built-ins, then the clouds among the settings' plugins
 * (`PG_PASSWORDLESS_PLUGINS` modules included). What `--cloud`, `--help` and the doctor list.
 *
 * @example
 * import { listClouds } from 'pg-passwordless';
 *
 * console.log((await listClouds()).map((cloud) => cloud.name)); // [ 'azure', 'aws', 'gcp' ]
 */
export async function listClouds(settings?: Settings | ResolvedSettings): Promise<CloudDefinition[]> {
  return [...builtInClouds, ...(await registered(builtInClouds, ensureResolved(settings))).clouds];
}
