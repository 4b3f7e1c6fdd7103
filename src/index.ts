export type { CacheRegistry } from './core/cache-registry.ts';
export { createCacheRegistry, sharedCacheRegistry } from './core/cache-registry.ts';
export type { Clock, TimerHandle } from './core/clock.ts';
export { systemClock } from './core/clock.ts';
export type { ConnectionTarget, Env } from './core/connection-url.ts';
export { parseConnectionUrl, redactUrl } from './core/connection-url.ts';
export type { ErrorCode, PasswordlessErrorOptions } from './core/errors.ts';
export { PasswordlessError } from './core/errors.ts';
export type { Logger } from './core/logger.ts';
export type { ConnectionParams, Plugin } from './core/plugin.ts';
export { setDatabaseConnectionParams } from './core/plugin-host.ts';
export type { RefreshPolicyOptions } from './core/refresh-policy.ts';
export type { RetryOptions } from './core/retry.ts';
export { SecretToken } from './core/secret.ts';
export type {
  AzureCloud,
  AzureSettings,
  ResolvedSettings,
  Settings,
  TokenCredentialLike,
} from './core/settings.ts';
export { resolveSettings } from './core/settings.ts';
export type { DriverTls, TlsSettings } from './core/tls.ts';
export type { TokenCache, TokenCacheEvent, TokenCacheOptions, TokenCacheStats } from './core/token-cache.ts';
export { createTokenCache } from './core/token-cache.ts';
export type { FetchedToken, TokenSource } from './core/token-source.ts';
export { AZURE_POSTGRES_RESOURCES, azureScope } from './plugins/azure/cloud.ts';
