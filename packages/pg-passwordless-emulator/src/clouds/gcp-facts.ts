/**
 * Cloud SQL's and AlloyDB's facts as the emulator checks them, written from Google's documentation, never
 * imported from the library it checks: a wrong constant there must fail here.
 */

/** The two Google databases that take an OAuth 2.0 access token as the password of an IAM user. */
export type GcpService = 'cloudsql' | 'alloydb';

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

/** The scope of every Google Cloud API, which the access scopes of an instance name (see below). */
export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

/**
 * The scopes of which AlloyDB wants at least one: "Request had insufficient scopes. The access token
 * does not contain either the alloydb.login scope or the cloud-platform scope. At least one of these
 * scopes is required." ("Connect using an IAM account", docs.cloud.google.com/alloydb/docs/connect-iam,
 * "Troubleshoot IAM authentication"). `alloydb.login` is the restricted one the same page prints a token
 * for, and the one the AlloyDB connectors request (GoogleCloudPlatform/alloydb-go-connector options.go
 * `AlloyDBLoginScope`, alloydb-java-connector `DefaultAccessTokenSupplier.ALLOYDB_LOGIN_SCOPE`).
 */
export const ALLOYDB_LOGIN_SCOPES = ['https://www.googleapis.com/auth/alloydb.login', CLOUD_PLATFORM_SCOPE];

/**
 * The scope a metadata server issues a token for when the request names none: the instance's access
 * scopes. The emulated instance has `cloud-platform`, the one Google advises setting, with access then
 * controlled by IAM roles ("Service accounts", cloud.google.com/compute/docs/access/service-accounts,
 * "Access scopes"): not the login scope, so a client must ask for that.
 */
export const DEFAULT_SCOPE = CLOUD_PLATFORM_SCOPE;

/**
 * How long an access token lives unless the emulator is told otherwise: "IAM database authentication
 * uses OAuth 2.0 access tokens, which are short-lived and only valid for one hour" (same iam-logins page).
 */
export const DEFAULT_TOKEN_LIFETIME_SECONDS = 3600;

/**
 * The database user of an IAM principal, the same rule for both services: "For a service account, this
 * is the service account's email without the `.gserviceaccount.com` domain suffix"; for a user, the full
 * email. Sources: cloud.google.com/sql/docs/postgres/iam-logins; for AlloyDB, "For an IAM service
 * account, the database username is the account's email address without the .gserviceaccount.com
 * suffix" (docs.cloud.google.com/alloydb/docs/connect-iam).
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

/**
 * The FATAL text of a refused AlloyDB IAM login, as its users report it: `FATAL:  AlloyDB IAM user
 * authentication failed for user ...` for a service account's token (GoogleCloudPlatform/
 * alloydb-auth-proxy#384). The user's name is elided in that report; it is quoted here as PostgreSQL
 * and Cloud SQL quote it. The reason (scope, principal, role) goes to the instance's log only ("Connect
 * using an IAM account", "Troubleshoot IAM authentication"); the SQLSTATE is not documented, and is
 * 28000 here as for Cloud SQL.
 *
 * @example
 * console.log(alloyDbRefusal('orders@shop.iam')); // AlloyDB IAM user authentication failed for user "orders@shop.iam"
 */
export function alloyDbRefusal(user: string): string {
  return `AlloyDB IAM user authentication failed for user "${user}"`;
}

/** What the gateway checks per service: the scopes a login token may carry (one is enough), and the refusal. */
export const DATABASE_SERVICES: Record<
  GcpService,
  { title: string; loginScopes: readonly string[]; refusal: (user: string) => string }
> = {
  cloudsql: { title: 'Cloud SQL', loginScopes: [LOGIN_SCOPE], refusal: cloudSqlRefusal },
  alloydb: { title: 'AlloyDB', loginScopes: ALLOYDB_LOGIN_SCOPES, refusal: alloyDbRefusal },
};
