import type { ConnectionParams, Plugin } from '../../core/contract.ts';
import { PasswordlessError } from '../../core/errors.ts';
import { buildTlsOptions } from '../../core/tls.ts';
import { tokenHandle } from '../../core/token-cache.ts';
import { loadPeer } from '../load-peer.ts';
import { type GoogleAuthLike, resolveGcpSettings } from './settings.ts';
import { gcpTokenSource, SQLSERVICE_LOGIN_SCOPE } from './token-source.ts';

type GoogleAuthModule = { GoogleAuth: new (options: { scopes: string[] }) => GoogleAuthLike };

/**
 * The `gcp` plugin: Cloud SQL for PostgreSQL IAM database authentication, the OAuth2 access token as
 * the password. Enabled by `PG_PASSWORDLESS_GCP_ENABLED=true` (behind `PG_PASSWORDLESS_ENABLED`) or
 * `{ gcp: { enabled: true } }`. Uses Application Default Credentials with the `sqlservice.login` scope.
 *
 * @example
 * import { setDatabaseConnectionParams } from 'pg-passwordless';
 *
 * // DATABASE_URL=postgresql://orders@my-project.iam@10.1.2.3/orders?sslmode=verify-ca&sslrootcert=server-ca.pem
 * const params = await setDatabaseConnectionParams(process.env.DATABASE_URL ?? '', { gcp: { enabled: true } });
 * console.log(params.user, typeof params.password); // orders@my-project.iam function
 */
export const gcpPlugin: Plugin = {
  name: 'gcp',
  async setDatabaseConnectionParams(_connectionUrl, settings, target): Promise<ConnectionParams> {
    const gcp = resolveGcpSettings(settings);
    if (!gcp.enabled) return {};
    const ssl = buildTlsOptions(target, settings.tls, settings.env);
    const auth =
      gcp.auth ??
      new (await loadPeer<GoogleAuthModule>('google-auth-library', 'The gcp plugin')).GoogleAuth({
        scopes: [SQLSERVICE_LOGIN_SCOPE],
      });
    const cache = settings.caches.getOrCreate(gcp.auth ?? 'gcp|adc|sqlservice.login', () => ({
      source: gcpTokenSource(auth),
      ...settings.tokenCache,
    }));
    const user = target.user ?? (await userFromServiceAccount(auth));
    return { user, ssl, token: tokenHandle(cache) };
  },
};

/**
 * Cloud SQL names an IAM service-account user by its email without `.gserviceaccount.com`
 * (`orders@my-project.iam`); a person's user is the full email.
 */
export function cloudSqlUserOf(email: string): string {
  return email.replace(/\.gserviceaccount\.com$/, '');
}

async function userFromServiceAccount(auth: GoogleAuthLike): Promise<string> {
  const { client_email: email } = await auth.getCredentials().catch(() => ({ client_email: undefined }));
  if (!email) {
    throw new PasswordlessError(
      'USER_MISSING',
      'The connection URL names no user, and the Google credentials name no service account.',
      {
        hint: 'Put the IAM user in the URL: the service account email without .gserviceaccount.com (sa@project.iam), or a person’s email.',
      },
    );
  }
  return cloudSqlUserOf(email);
}
