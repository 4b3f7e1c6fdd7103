import { existsSync } from 'node:fs';
import { defineCloud } from '../../core/cloud.ts';
import { loadPeer } from '../../core/load-peer.ts';
import { readGoogleCredentialFile } from './credential-file.ts';
import { gcpDoctor } from './doctor.ts';
import { type GoogleAuthLike, resolveGcpOptions } from './options.ts';
import { roleFromServiceAccount, serviceAccountOf } from './role.ts';
import { GCP_SERVICES, gcpTokenSource } from './token-source.ts';

type GoogleAuthModule = { GoogleAuth: new (options: { scopes: string[] }) => GoogleAuthLike };

/**
 * Cloud SQL for PostgreSQL and AlloyDB for PostgreSQL with IAM database authentication, the OAuth2
 * access token as the password. Switched on by `PG_PASSWORDLESS_GCP_ENABLED=true` (behind
 * `PG_PASSWORDLESS_ENABLED`) or `{ gcp: { enabled: true } }`; `service: 'alloydb'` (or
 * `PG_PASSWORDLESS_GCP_SERVICE=alloydb`) for AlloyDB. Uses Application Default Credentials (the metadata
 * server, a service-account key file, workload identity federation, a gcloud login) with the login scope
 * of the service: `sqlservice.login` for Cloud SQL, `alloydb.login` for AlloyDB.
 *
 * @example
 * import { setDatabaseConnectionParams } from 'pg-passwordless';
 *
 * // DATABASE_URL=postgresql://orders@my-project.iam@10.1.2.3/orders?sslmode=verify-ca&sslrootcert=server-ca.pem
 * const params = await setDatabaseConnectionParams(process.env.DATABASE_URL ?? '', { gcp: { enabled: true } });
 * console.log(params.user, typeof params.password); // orders@my-project.iam function
 */
export const gcpCloud = defineCloud({
  name: 'gcp',
  title: 'Cloud SQL and AlloyDB for PostgreSQL (IAM database authentication)',
  variables: {
    PG_PASSWORDLESS_GCP_SERVICE: 'cloudsql (default) or alloydb: the database, and so the login scope',
  },
  resolveOptions: resolveGcpOptions,
  async identify({ options, env }) {
    const service = options.service ?? 'cloudsql';
    const { title, scope } = GCP_SERVICES[service];
    const auth =
      options.auth ??
      new (await loadPeer<GoogleAuthModule>('google-auth-library', 'The gcp plugin')).GoogleAuth({
        scopes: [scope],
      });
    // What the file names tells the hints of a failure; GoogleAuth reads it again, as it always does.
    const path = options.auth ? undefined : env.GOOGLE_APPLICATION_CREDENTIALS;
    const file = path && existsSync(path) ? readGoogleCredentialFile(path) : undefined;
    return {
      cacheKey: `adc|${scope}`,
      credential: options.auth,
      createSource: () => gcpTokenSource(auth, { service, ...(file ? { file } : {}) }),
      roleWhenUnnamed: () => roleFromServiceAccount(auth),
      facts: { service: title, scope },
      moreFacts: async (): Promise<Record<string, string>> => {
        const serviceAccount = await serviceAccountOf(auth);
        return serviceAccount ? { serviceAccount } : {};
      },
    };
  },
  doctor: gcpDoctor,
});

export type { GcpSettings, GoogleAuthLike } from './options.ts';
