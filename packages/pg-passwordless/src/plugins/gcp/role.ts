import type { RoleChoice } from '../../core/cloud.ts';
import { PasswordlessError } from '../../core/errors.ts';
import type { GoogleAuthLike } from './options.ts';

/**
 * Cloud SQL names an IAM service-account user by its email without `.gserviceaccount.com`
 * (`orders@my-project.iam`); a person's user is the full email.
 *
 * @example
 * console.log(cloudSqlUserOf('orders@shop.iam.gserviceaccount.com')); // orders@shop.iam
 */
export function cloudSqlUserOf(email: string): string {
  return email.replace(/\.gserviceaccount\.com$/, '');
}

/** The email of the account the credentials belong to, when they name one. */
export async function serviceAccountOf(auth: GoogleAuthLike): Promise<string | undefined> {
  const { client_email: email } = await auth.getCredentials().catch(() => ({ client_email: undefined }));
  return email || undefined;
}

/** The IAM user of the service account, for a URL that names none. */
export async function roleFromServiceAccount(auth: GoogleAuthLike): Promise<RoleChoice> {
  const email = await serviceAccountOf(auth);
  if (!email) {
    throw new PasswordlessError(
      'USER_MISSING',
      'The connection URL names no user, and the Google credentials name no service account.',
      {
        hint: 'Put the IAM user in the URL: the service account email without .gserviceaccount.com (sa@project.iam), or a person’s email.',
      },
    );
  }
  return { name: cloudSqlUserOf(email), from: `the service account ${email}` };
}
