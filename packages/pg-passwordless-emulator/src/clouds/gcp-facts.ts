/**
 * Cloud SQL's facts as the emulator checks them, written from Google's documentation, never imported from
 * the library it checks.
 */

/**
 * The database user of an IAM principal. "For an IAM service account, the username is the service
 * account's email without the `.gserviceaccount.com` domain suffix"; for a user, the full email.
 * Source: cloud.google.com/sql/docs/postgres/iam-logins ("Log in with IAM database authentication").
 *
 * @example
 * console.log(databaseUserOf('orders@shop.iam.gserviceaccount.com')); // orders@shop.iam
 */
export function databaseUserOf(email: string): string {
  const suffix = '.gserviceaccount.com';
  return email.endsWith(suffix) ? email.slice(0, -suffix.length) : email;
}
