import { parseBool, type ResolvedSettings, settingsSection } from '../../core/settings.ts';

/** The subset of google-auth-library's GoogleAuth that pg-passwordless uses. */
export interface GoogleAuthLike {
  getClient(): Promise<{
    getAccessToken(): Promise<{ token?: string | null }>;
    credentials?: { expiry_date?: number | null };
    setCredentials?(credentials: object): void;
  }>;
  getCredentials(): Promise<{ client_email?: string }>;
}

/** The `gcp` section of the settings. */
export interface GcpSettings {
  /** Else `PG_PASSWORDLESS_GCP_ENABLED` (behind the `PG_PASSWORDLESS_ENABLED` gate). */
  enabled?: boolean;
  /** A GoogleAuth instance to use instead of Application Default Credentials. */
  auth?: GoogleAuthLike;
}

/**
 * The `gcp` section with the environment applied: explicit values beat the environment.
 *
 * @example
 * import { resolveGcpSettings, resolveSettings } from 'pg-passwordless';
 *
 * console.log(resolveGcpSettings(resolveSettings({ gcp: { enabled: true } }, {})).enabled); // true
 */
export function resolveGcpSettings(settings: ResolvedSettings): GcpSettings & { enabled: boolean } {
  const section = settingsSection<GcpSettings>(settings, 'gcp');
  return {
    ...section,
    enabled: section.enabled ?? parseBool(settings.env, 'PG_PASSWORDLESS_GCP_ENABLED') ?? false,
  };
}
