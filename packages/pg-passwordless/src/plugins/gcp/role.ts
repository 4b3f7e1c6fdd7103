import type { RoleChoice } from '../../core/cloud.ts';
import { PasswordlessError } from '../../core/errors.ts';
import type { GoogleAuthLike } from './options.ts';

/**
 * Cloud SQL and AlloyDB name an IAM service-account user by its email without `.gserviceaccount.com`
 * (`orders@my-project.iam`); a person's user is the full email (cloud.google.com/sql/docs/postgres/
 * iam-logins, docs.cloud.google.com/alloydb/docs/connect-iam).
 *
 * @example
 * console.log(iamDatabaseUserOf('orders@shop.iam.gserviceaccount.com')); // orders@shop.iam
 */
export function iamDatabaseUserOf(email: string): string {
  return email.replace(/\.gserviceaccount\.com$/, '');
}

/**
 * The email of the account the credentials belong to, when they name one (a key's `client_email`, the
 * account an external account impersonates, the metadata server's default account).
 *
 * @example
 * const auth = { getClient: async () => ({ getAccessToken: async () => ({}) }), getCredentials: async () => ({ client_email: 'a@p.iam.gserviceaccount.com' }) };
 * console.log(await serviceAccountOf(auth)); // a@p.iam.gserviceaccount.com
 */
export async function serviceAccountOf(auth: GoogleAuthLike): Promise<string | undefined> {
  const { client_email: email } = await auth.getCredentials().catch(() => ({ client_email: undefined }));
  return email || undefined;
}

/**
 * The IAM user of the service account, for a URL that names none.
 *
 * @example
 * const auth = { getClient: async () => ({ getAccessToken: async () => ({}) }), getCredentials: async () => ({ client_email: 'a@p.iam.gserviceaccount.com' }) };
 * console.log(await roleFromServiceAccount(auth)); // { name: 'a@p.iam', from: 'the service account a@p.iam.gserviceaccount.com' }
 */
export async function roleFromServiceAccount(auth: GoogleAuthLike): Promise<RoleChoice> {
  const email = await serviceAccountOf(auth);
  if (!email) {
    throw new PasswordlessError(
      'USER_MISSING',
      'The connection URL names no user, and the Google credentials name no service account.',
      {
        hint: 'Put the IAM user in the URL: the service account email without .gserviceaccount.com (sa@project.iam), or a person’s email. A workload identity federation file names an account only when it impersonates one (service_account_impersonation_url).',
      },
    );
  }
  return { name: iamDatabaseUserOf(email), from: `the service account ${email}` };
}
