import { type CacheRegistry, sharedCacheRegistry } from './cache-registry.ts';
import type { Env } from './connection-url.ts';
import { PasswordlessError } from './errors.ts';
import { consoleLogger, type Logger } from './logger.ts';
import type { Plugin } from './plugin.ts';
import type { RefreshPolicyOptions } from './refresh-policy.ts';
import type { RetryOptions } from './retry.ts';
import type { TlsSettings } from './tls.ts';

/** The subset of `@azure/core-auth`'s TokenCredential that pg-passwordless uses. */
export interface TokenCredentialLike {
  getToken(
    scopes: string | string[],
    options?: object,
  ): Promise<{ token: string; expiresOnTimestamp: number; refreshAfterTimestamp?: number } | null>;
}

export type AzureCloud = 'public' | 'usgov' | 'china';

export interface AzureSettings {
  enabled?: boolean;
  /** Client id of a user-assigned managed identity. */
  clientId?: string;
  /** Any TokenCredential (ClientSecretCredential, WorkloadIdentityCredential, ...) instead of DefaultAzureCredential. */
  credential?: TokenCredentialLike;
  /** The sovereign cloud; by default it follows the server's host name. */
  cloud?: AzureCloud;
  /** An explicit scope, overriding the cloud's. */
  scope?: string;
}

/** The AWS credentials shape of the AWS SDK (`AwsCredentialIdentity`), or a provider of it. */
export interface AwsCredentialsLike {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}
export type AwsCredentialsProviderLike = () => Promise<AwsCredentialsLike>;

export interface AwsSettings {
  enabled?: boolean;
  /** The region; else PG_PASSWORDLESS_AWS_REGION, else the one in an RDS host name, else the SDK's default. */
  region?: string;
  /** Credentials or a provider; the SDK's default chain when omitted. */
  credentials?: AwsCredentialsLike | AwsCredentialsProviderLike;
  /** The endpoint to sign for (`host` or `host:port`) when connecting through a custom DNS name. */
  signingHost?: string;
}

/** The subset of google-auth-library's GoogleAuth that pg-passwordless uses. */
export interface GoogleAuthLike {
  getClient(): Promise<{
    getAccessToken(): Promise<{ token?: string | null }>;
    credentials?: { expiry_date?: number | null };
  }>;
  getCredentials(): Promise<{ client_email?: string }>;
}

export interface GcpSettings {
  enabled?: boolean;
  /** A GoogleAuth instance to use instead of Application Default Credentials. */
  auth?: GoogleAuthLike;
}

/** Programmatic settings. Every field is optional; explicit values beat the environment. */
export interface Settings {
  /** Turns the plugin host on. Implied when settings enable a plugin explicitly. */
  enabled?: boolean;
  /** Only these plugin names run. */
  allow?: string[];
  /** These plugin names never run. */
  deny?: string[];
  /** Extra plugins: objects, or module specifiers to import. */
  plugins?: Array<Plugin | string>;
  /** How long one plugin may take before it is skipped with a warning. */
  pluginTimeoutMs?: number;
  azure?: AzureSettings;
  aws?: AwsSettings;
  gcp?: GcpSettings;
  tls?: TlsSettings;
  tokenCache?: { policy?: Partial<RefreshPolicyOptions>; retry?: Partial<RetryOptions> };
  logger?: Logger;
  /** The environment to read; `process.env` by default. */
  env?: Env;
  /** Where token caches are shared; one per process by default. */
  caches?: CacheRegistry;
}

/** Settings after precedence is applied: explicit > environment > defaults. */
export interface ResolvedSettings {
  enabled: boolean;
  allow: ReadonlySet<string> | undefined;
  deny: ReadonlySet<string>;
  plugins: ReadonlyArray<Plugin | string>;
  pluginTimeoutMs: number;
  azure: AzureSettings & { enabled: boolean };
  aws: AwsSettings & { enabled: boolean };
  gcp: GcpSettings & { enabled: boolean };
  tls: TlsSettings;
  tokenCache: { policy?: Partial<RefreshPolicyOptions>; retry?: Partial<RetryOptions> };
  logger: Logger;
  env: Env;
  caches: CacheRegistry;
}

const DEFAULT_PLUGIN_TIMEOUT_MS = 20_000;

/**
 * Resolves settings once, in one pure function. `PG_PASSWORDLESS_ENABLED` gates only what the
 * environment switches on; a plugin enabled in code needs no gate.
 *
 * @example
 * resolveSettings({ azure: { enabled: true } }, {}).enabled // true
 * resolveSettings(undefined, { PG_PASSWORDLESS_AZURE_ENABLED: 'true' }).enabled // false: no gate
 */
export function resolveSettings(
  settings: Settings = {},
  env: Env = settings.env ?? process.env,
): ResolvedSettings {
  const explicitlyEnabled =
    settings.azure?.enabled === true ||
    settings.aws?.enabled === true ||
    settings.gcp?.enabled === true ||
    (settings.plugins?.length ?? 0) > 0;
  const enabled =
    settings.enabled ?? (explicitlyEnabled || (parseBool(env, 'PG_PASSWORDLESS_ENABLED') ?? false));
  const allow = settings.allow ?? parseList(env.PG_PASSWORDLESS_ALLOW);
  const deny = settings.deny ?? parseList(env.PG_PASSWORDLESS_DENY) ?? [];
  const envPlugins = parseList(env.PG_PASSWORDLESS_PLUGINS) ?? [];
  const azureClientId = settings.azure?.clientId ?? (env.PG_PASSWORDLESS_AZURE_CLIENT_ID || undefined);
  return {
    enabled,
    allow: allow ? new Set(allow) : undefined,
    deny: new Set(deny),
    plugins: [...(settings.plugins ?? []), ...envPlugins],
    pluginTimeoutMs: settings.pluginTimeoutMs ?? DEFAULT_PLUGIN_TIMEOUT_MS,
    azure: {
      ...settings.azure,
      enabled: settings.azure?.enabled ?? parseBool(env, 'PG_PASSWORDLESS_AZURE_ENABLED') ?? false,
      clientId: azureClientId,
    },
    aws: {
      ...settings.aws,
      enabled: settings.aws?.enabled ?? parseBool(env, 'PG_PASSWORDLESS_AWS_ENABLED') ?? false,
      region: settings.aws?.region ?? (env.PG_PASSWORDLESS_AWS_REGION || undefined),
      signingHost: settings.aws?.signingHost ?? (env.PG_PASSWORDLESS_AWS_SIGNING_HOST || undefined),
    },
    gcp: {
      ...settings.gcp,
      enabled: settings.gcp?.enabled ?? parseBool(env, 'PG_PASSWORDLESS_GCP_ENABLED') ?? false,
    },
    tls: { ...settings.tls },
    tokenCache: { ...settings.tokenCache },
    logger: settings.logger ?? consoleLogger,
    env,
    caches: settings.caches ?? sharedCacheRegistry,
  };
}

/** Reads a boolean variable the way the reference system's settings do (true/false/1/0/yes/no/on/off). */
export function parseBool(env: Env, name: string): boolean | undefined {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return undefined;
  if (['true', '1', 'yes', 'on'].includes(raw)) return true;
  if (['false', '0', 'no', 'off'].includes(raw)) return false;
  throw new PasswordlessError('CONFIG_INVALID', `${name}="${env[name]}" is not a boolean.`, {
    hint: 'Use true or false (1/0, yes/no and on/off are accepted too).',
  });
}

function parseList(raw: string | undefined): string[] | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  return raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** Accepts settings in either form, so that host and adapters resolve only once. */
export function ensureResolved(settings: Settings | ResolvedSettings | undefined): ResolvedSettings {
  return settings !== undefined && settings.deny instanceof Set
    ? (settings as ResolvedSettings)
    : resolveSettings(settings as Settings);
}
