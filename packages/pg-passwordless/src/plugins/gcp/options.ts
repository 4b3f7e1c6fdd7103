import type { Env } from '../../core/connection-url.ts';

/** The subset of google-auth-library's GoogleAuth that pg-passwordless uses. */
export interface GoogleAuthLike {
  getClient(): Promise<{
    getAccessToken(): Promise<{ token?: string | null }>;
    credentials?: { expiry_date?: number | null };
    setCredentials?(credentials: object): void;
  }>;
  getCredentials(): Promise<{ client_email?: string }>;
}

/** The `gcp` section of the settings (`enabled`, else `PG_PASSWORDLESS_GCP_ENABLED`, switches it on). */
export interface GcpSettings {
  /** A GoogleAuth instance to use instead of Application Default Credentials. */
  auth?: GoogleAuthLike;
}

/**
 * The `gcp` section with the environment applied (it reads none of its own: Application Default
 * Credentials read theirs).
 *
 * @example
 * console.log(resolveGcpOptions({}, {})); // {}
 */
export function resolveGcpOptions(section: Partial<GcpSettings>, _env: Env): GcpSettings {
  return { ...section };
}
