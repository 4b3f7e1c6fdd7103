import type { Env } from '../../core/connection-url.ts';
import { parseBool, type ResolvedSettings, settingsSection } from '../../core/settings.ts';

/** The subset of `@azure/core-auth`'s TokenCredential that pg-passwordless uses. */
export interface TokenCredentialLike {
  getToken(
    scopes: string | string[],
    options?: object,
  ): Promise<{ token: string; expiresOnTimestamp: number; refreshAfterTimestamp?: number } | null>;
}

export type AzureCloud = 'public' | 'usgov' | 'china';

/** The `azure` section of the settings. */
export interface AzureSettings {
  /** Else `PG_PASSWORDLESS_AZURE_ENABLED` (behind the `PG_PASSWORDLESS_ENABLED` gate). */
  enabled?: boolean;
  /** Client id of a user-assigned managed identity; else `PG_PASSWORDLESS_AZURE_CLIENT_ID`. */
  clientId?: string;
  /** Any TokenCredential (ClientSecretCredential, WorkloadIdentityCredential, ...) instead of DefaultAzureCredential. */
  credential?: TokenCredentialLike;
  /** The sovereign cloud; by default it follows the server's host name. */
  cloud?: AzureCloud;
  /** An explicit scope, overriding the cloud's. */
  scope?: string;
}

/**
 * The `azure` section with the environment applied: explicit values beat the environment.
 *
 * @example
 * import { resolveAzureSettings, resolveSettings } from 'pg-passwordless';
 *
 * const settings = resolveSettings({}, { PG_PASSWORDLESS_AZURE_ENABLED: 'true' });
 * console.log(resolveAzureSettings(settings).enabled); // true
 */
export function resolveAzureSettings(settings: ResolvedSettings): AzureSettings & { enabled: boolean } {
  const section = settingsSection<AzureSettings>(settings, 'azure');
  const env: Env = settings.env;
  return {
    ...section,
    enabled: section.enabled ?? parseBool(env, 'PG_PASSWORDLESS_AZURE_ENABLED') ?? false,
    clientId: section.clientId ?? (env.PG_PASSWORDLESS_AZURE_CLIENT_ID || undefined),
  };
}
