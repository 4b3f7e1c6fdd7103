import { defineCloud } from '../../core/cloud.ts';
import { loadPeer } from '../../core/load-peer.ts';
import { gcpDoctor } from './doctor.ts';
import { type GoogleAuthLike, resolveGcpOptions } from './options.ts';
import { roleFromServiceAccount, serviceAccountOf } from './role.ts';
import { gcpTokenSource, SQLSERVICE_LOGIN_SCOPE } from './token-source.ts';

type GoogleAuthModule = { GoogleAuth: new (options: { scopes: string[] }) => GoogleAuthLike };

/**
 * Cloud SQL for PostgreSQL with IAM database authentication, the OAuth2 access token as the password.
 * Switched on by `PG_PASSWORDLESS_GCP_ENABLED=true` (behind `PG_PASSWORDLESS_ENABLED`) or
 * `{ gcp: { enabled: true } }`. Uses Application Default Credentials with the `sqlservice.login` scope.
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
  title: 'Cloud SQL for PostgreSQL (IAM database authentication)',
  resolveOptions: resolveGcpOptions,
  async identify({ options }) {
    const auth =
      options.auth ??
      new (await loadPeer<GoogleAuthModule>('google-auth-library', 'The gcp plugin')).GoogleAuth({
        scopes: [SQLSERVICE_LOGIN_SCOPE],
      });
    return {
      cacheKey: 'adc|sqlservice.login',
      credential: options.auth,
      createSource: () => gcpTokenSource(auth),
      roleWhenUnnamed: () => roleFromServiceAccount(auth),
      facts: { scope: SQLSERVICE_LOGIN_SCOPE },
      moreFacts: async (): Promise<Record<string, string>> => {
        const serviceAccount = await serviceAccountOf(auth);
        return serviceAccount ? { serviceAccount } : {};
      },
    };
  },
  doctor: gcpDoctor,
});

export type { GcpSettings, GoogleAuthLike } from './options.ts';
