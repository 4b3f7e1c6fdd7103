import type { Env } from '../../core/connection-url.ts';

/** The subset of `@azure/core-auth`'s TokenCredential that pg-passwordless uses. */
export interface TokenCredentialLike {
  getToken(
    scopes: string | string[],
    options?: object,
  ): Promise<{ token: string; expiresOnTimestamp: number; refreshAfterTimestamp?: number } | null>;
}

/** The sovereign clouds of Azure Database for PostgreSQL. */
export type AzureCloud = 'public' | 'usgov' | 'china';

/** The `azure` section of the settings (`enabled`, else `PG_PASSWORDLESS_AZURE_ENABLED`, switches it on). */
export interface AzureSettings {
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
 * console.log(resolveAzureOptions({}, { PG_PASSWORDLESS_AZURE_CLIENT_ID: 'c0ffee' }).clientId); // c0ffee
 */
export function resolveAzureOptions(section: Partial<AzureSettings>, env: Env): AzureSettings {
  return { ...section, clientId: section.clientId ?? (env.PG_PASSWORDLESS_AZURE_CLIENT_ID || undefined) };
}
