/**
 * Amazon Aurora DSQL's IAM login as the emulator checks it, written from AWS's documentation, never
 * imported from the library it checks: a wrong constant there must fail here.
 */

/**
 * What a DSQL token is, whom it lets in, and how long DSQL honours it.
 *
 * - A token is a SigV4-presigned `GET https://<cluster endpoint>/?Action=DbConnect` (or `DbConnectAdmin`)
 *   with the `https://` left off, signed for the service `dsql` with the signed header `host` (the
 *   endpoint, no port). Sources: "Generating an authentication token in Amazon Aurora DSQL"
 *   (docs.aws.amazon.com/aurora-dsql/latest/userguide/SECTION_authentication-token.html: `aws dsql
 *   generate-db-connect-admin-auth-token --hostname <cluster endpoint>`), boto3's
 *   "generate_db_connect_admin_auth_token" ("Generate a DSQL database token for the 'DbConnectAdmin'
 *   action", "A presigned url which can be used as an auth token"), and the IAM actions
 *   `dsql:DbConnect` / `dsql:DbConnectAdmin` ("Using database roles and IAM authentication",
 *   docs.aws.amazon.com/aurora-dsql/latest/userguide/using-database-and-iam-roles.html).
 * - The role `admin`, which DSQL creates in every cluster, logs in with a `DbConnectAdmin` token; a role
 *   of your own (`CREATE ROLE example WITH LOGIN; AWS IAM GRANT example TO '<IAM ARN>'`) with a
 *   `DbConnect` token from an IAM identity granted to it; the other action is refused ("Aurora DSQL uses
 *   two token types: DbConnectAdmin for the admin role and DbConnect for custom database roles",
 *   "Troubleshooting issues in Aurora DSQL", docs.aws.amazon.com/aurora-dsql/latest/userguide/troubleshooting.html;
 *   "Accessing Aurora DSQL with PostgreSQL-compatible clients": "Aurora DSQL creates a role for you named admin").
 * - A token is valid for its `X-Amz-Expires`: "If you use the AWS CLI or SDKs to create the token, the
 *   default is 15 minutes. The maximum duration is 604,800 seconds, which is one week" (Generating an
 *   authentication token), unlike RDS, which honours 15 minutes whatever the token says.
 * - A signature from a clock up to 5 minutes ahead is taken, as in every SigV4 check ("Signing AWS API
 *   requests", docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv.html). The payload hash is that
 *   of the empty body, as the signers compute it for a presign.
 */
export const DSQL_TOKEN = Object.freeze({
  signingService: 'dsql',
  adminRole: 'admin',
  adminAction: 'DbConnectAdmin',
  roleAction: 'DbConnect',
  actions: Object.freeze(['DbConnect', 'DbConnectAdmin']),
  algorithm: 'AWS4-HMAC-SHA256',
  scopeTerminator: 'aws4_request',
  signedHeaders: 'host',
  /** SHA-256 of the empty body. */
  payloadHash: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  longestLifetimeSeconds: 604_800,
  clockSkewMs: 5 * 60_000,
});

/**
 * A DSQL connection lasts at most 60 minutes, and DSQL documents no error code and no error message for
 * its end ("Maximum connection duration | 60 minutes | No | No error code | No error message", "Cluster
 * quotas and database limits in Amazon Aurora DSQL", docs.aws.amazon.com/aurora-dsql/latest/userguide/CHAP_quotas.html):
 * the emulator closes the connection without an ErrorResponse. (DSQL lets a transaction begun in the
 * 60th minute run to its own 5-minute limit, "Understanding connections in Aurora DSQL"; the emulator
 * does not look into the session and ends it at the cap.)
 */
export const DSQL_SESSION = Object.freeze({ capSeconds: 60 * 60 });

/** A refused DSQL login: what reaches the client in the FATAL ErrorResponse. */
export interface DsqlRefusal {
  sqlState: string;
  message: string;
  /** The ErrorResponse's HINT field, where DSQL says why. */
  hint?: string;
}

/**
 * DSQL refuses a token login with one FATAL line and says why, when it says, in the HINT field: `FATAL:
 * unable to accept connection, access denied` with `HINT: Signature expired: ...` for a stale token, or
 * with no such hint for wrong credentials, region or IAM permissions, as reproduced against a cluster in
 * the troubleshooting reference of AWS's Aurora DSQL agent skill (awslabs/mcp,
 * src/aurora-dsql-mcp-server/skills/dsql-skill/references/troubleshooting.md, in its revisions with the
 * "unable to accept connection" table: "HINT is a separate protocol field ... err.hint (node-postgres)").
 * SQLSTATE 08006 (connection_failure) is what node-postgres and pgx users print for it; AWS documents none.
 *
 * @example
 * console.log(dsqlAccessDenied()); // { sqlState: '08006', message: 'unable to accept connection, access denied' }
 */
export function dsqlAccessDenied(hint?: string): DsqlRefusal {
  return {
    sqlState: '08006',
    message: 'unable to accept connection, access denied',
    ...(hint === undefined ? {} : { hint }),
  };
}

/**
 * The hint of a token signed for the other action: "Wrong user to action mapping. user: admin, action:
 * DbConnect" ("Troubleshooting issues in Aurora DSQL").
 *
 * @example
 * console.log(wrongActionHint('admin', 'DbConnect')); // Wrong user to action mapping. user: admin, action: DbConnect
 */
export function wrongActionHint(user: string, action: string): string {
  return `Wrong user to action mapping. user: ${user}, action: ${action}`;
}

/**
 * The hint of an expired token, in SigV4's words: "Signature expired: 20220127T001427Z is now earlier
 * than 20220127T014428Z (20220127T015928Z - 15 min.)" (as AWS services answer it, aws/aws-cli#6676); DSQL's
 * hint starts "Signature expired:" (the agent skill above). The window is the token's `X-Amz-Expires`.
 *
 * @example
 * console.log(signatureExpiredHint(Date.UTC(2026, 0, 1), Date.UTC(2026, 0, 1, 0, 20), 900));
 * // Signature expired: 20260101T000000Z is now earlier than 20260101T000500Z (20260101T002000Z - 15 min.)
 */
export function signatureExpiredHint(signedAtMs: number, nowMs: number, windowSeconds: number): string {
  return `Signature expired: ${amzDate(signedAtMs)} is now earlier than ${amzDate(nowMs - windowSeconds * 1000)} (${amzDate(nowMs)} - ${window(windowSeconds)})`;
}

/**
 * The hint of a token dated after the server's clock allows, in SigV4's words: "Signature not yet current:
 * 20181120T211543Z is still later than 20181120T211529Z (20181120T211029Z + 5 min.)" (serverless/enterprise#11).
 *
 * @example
 * console.log(signatureNotYetCurrentHint(Date.UTC(2026, 0, 1, 0, 10), Date.UTC(2026, 0, 1), 300));
 * // Signature not yet current: 20260101T001000Z is still later than 20260101T000500Z (20260101T000000Z + 5 min.)
 */
export function signatureNotYetCurrentHint(signedAtMs: number, nowMs: number, skewSeconds: number): string {
  return `Signature not yet current: ${amzDate(signedAtMs)} is still later than ${amzDate(nowMs + skewSeconds * 1000)} (${amzDate(nowMs)} + ${window(skewSeconds)})`;
}

/**
 * The refusal of a token whose signing role has expired, though the token has not: "Aurora DSQL rejects
 * your connection request if your assumed role has expired", listed under `IAM authentication failed
 * for user "..."` ("Troubleshooting issues in Aurora DSQL"). AWS documents no SQLSTATE for it: 28000
 * (invalid_authorization_specification), PostgreSQL's class for a refused login.
 *
 * @example
 * console.log(iamAuthenticationFailed('orders_app').message); // IAM authentication failed for user "orders_app"
 */
export function iamAuthenticationFailed(user: string): DsqlRefusal {
  return { sqlState: '28000', message: `IAM authentication failed for user "${user}"` };
}

/** SigV4's date form: 20260101T000000Z. */
function amzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]|\.\d{3}/g, '');
}

/** AWS writes the window in minutes ("15 min."); a window of seconds that is no whole minute, in seconds. */
function window(seconds: number): string {
  return seconds % 60 === 0 ? `${seconds / 60} min.` : `${seconds} sec.`;
}
