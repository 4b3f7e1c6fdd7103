import type { Env } from '../../core/connection-url.ts';
import { PasswordlessError, printable } from '../../core/errors.ts';

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
  /**
   * The database: Cloud SQL for PostgreSQL (default) or AlloyDB for PostgreSQL; else
   * PG_PASSWORDLESS_GCP_SERVICE. It decides the login scope the token is asked for.
   */
  service?: 'cloudsql' | 'alloydb';
}

/** The Google databases that take an IAM access token as the password. */
export type GcpService = NonNullable<GcpSettings['service']>;

const SERVICES: readonly string[] = ['cloudsql', 'alloydb'];

/**
 * The `gcp` section with the environment applied: `service` from PG_PASSWORDLESS_GCP_SERVICE when the
 * section names none (Application Default Credentials read their own variables).
 *
 * @example
 * console.log(resolveGcpOptions({}, { PG_PASSWORDLESS_GCP_SERVICE: 'alloydb' })); // { service: 'alloydb' }
 * console.log(resolveGcpOptions({}, {})); // { service: 'cloudsql' }
 */
export function resolveGcpOptions(section: Partial<GcpSettings>, env: Env): GcpSettings {
  const fromEnv = env.PG_PASSWORDLESS_GCP_SERVICE || undefined;
  const service = section.service ?? fromEnv ?? 'cloudsql';
  if (!SERVICES.includes(service)) {
    const where = section.service === undefined ? 'PG_PASSWORDLESS_GCP_SERVICE' : 'gcp.service';
    throw new PasswordlessError(
      'CONFIG_INVALID',
      `${where} must be cloudsql or alloydb, not ${printable(service)}.`,
      {
        hint: 'Use cloudsql for Cloud SQL for PostgreSQL (the default) or alloydb for AlloyDB for PostgreSQL.',
      },
    );
  }
  return { ...section, service: service as GcpService };
}
