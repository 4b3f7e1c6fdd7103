/**
 * Cloud SQL's facts as the emulator checks them, written from Google's documentation, never imported from
 * the library it checks: a wrong constant there must fail here.
 */

/**
 * The OAuth 2.0 scope a token needs to log in to Cloud SQL as an IAM user. "Log in using IAM database
 * authentication" (cloud.google.com/sql/docs/postgres/iam-logins) asks for "an OAuth 2.0 access token
 * with the Cloud SQL Admin API scope"; the login-only scope of that API is `sqlservice.login`, the one
 * `gcloud sql generate-login-token` produces (cloud.google.com/sdk/gcloud/reference/sql/
 * generate-login-token) and Google's Cloud SQL connectors request for IAM logins
 * (github.com/GoogleCloudPlatform/cloud-sql-nodejs-connector, src/sqladmin-fetcher.ts). The emulator
 * takes no other scope: whether the real server still takes a broader one is not documented.
 */
export const LOGIN_SCOPE = 'https://www.googleapis.com/auth/sqlservice.login';

/**
 * The scope a metadata server issues a token for when the request names none: the instance's access
 * scopes. The emulated instance has `cloud-platform`, the one Google advises setting, with access then
 * controlled by IAM roles ("Service accounts", cloud.google.com/compute/docs/access/service-accounts,
 * "Access scopes"): not the login scope, so a client must ask for that.
 */
export const DEFAULT_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

/**
 * How long an access token lives unless the emulator is told otherwise: "IAM database authentication
 * uses OAuth 2.0 access tokens, which are short-lived and only valid for one hour" (same iam-logins page).
 */
export const DEFAULT_TOKEN_LIFETIME_SECONDS = 3600;

/**
 * The database user of an IAM principal. "For a service account, this is the service account's email
 * without the `.gserviceaccount.com` domain suffix"; for a user, the full email. Source:
 * cloud.google.com/sql/docs/postgres/iam-logins ("Log in using IAM database authentication").
 *
 * @example
 * console.log(databaseUserOf('orders@shop.iam.gserviceaccount.com')); // orders@shop.iam
 * console.log(databaseUserOf('ana@example.com')); // ana@example.com
 */
export function databaseUserOf(email: string): string {
  const suffix = '.gserviceaccount.com';
  return email.endsWith(suffix) ? email.slice(0, -suffix.length) : email;
}

/**
 * The FATAL text of a refused IAM login of a service account (SQLSTATE 28000), as Cloud SQL's users
 * report it: `FATAL: Cloud SQL IAM service account authentication failed for user "<user>"`
 * (GoogleCloudPlatform/cloud-sql-jdbc-socket-factory#727, and #1174 for a bad or expired token).
 * Google documents no text for it.
 *
 * @example
 * console.log(cloudSqlRefusal('orders@shop.iam'));
 * // Cloud SQL IAM service account authentication failed for user "orders@shop.iam"
 */
export function cloudSqlRefusal(user: string): string {
  return `Cloud SQL IAM service account authentication failed for user "${user}"`;
}
