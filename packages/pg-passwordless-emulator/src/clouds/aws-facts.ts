/**
 * Amazon RDS IAM database authentication as the emulator checks it, written from AWS's documentation,
 * never imported from the library it checks: a wrong constant there must fail here.
 */

/**
 * What an RDS IAM token is and how long RDS honours it.
 *
 * - A token is a SigV4-presigned `GET https://<host>:<port>/?Action=connect&DBUser=<user>` with the
 *   `https://` left off, signed for the service `rds-db` (the credential scope's service, as in the IAM
 *   action `rds-db:connect`). Sources: "Connecting to your DB instance using IAM authentication"
 *   (docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.Connecting.html), "Creating
 *   and using an IAM policy for IAM database access" (docs.aws.amazon.com/AmazonRDS/latest/UserGuide/
 *   UsingWithRDS.IAMDBAuth.IAMPolicy.html: the action `rds-db:connect`), and the SDKs' token generators,
 *   which presign exactly that request (AWS SDK for Ruby, "Class: Aws::RDS::AuthTokenGenerator",
 *   docs.aws.amazon.com/sdk-for-ruby/v3/api/Aws/RDS/AuthTokenGenerator.html: `Action=connect`,
 *   `DBUser`, service `rds-db`).
 * - "After you generate an authentication token, it's valid for 15 minutes before it expires", whatever
 *   `X-Amz-Expires` the signer wrote (same page: "Each token has a lifetime of 15 minutes", "IAM
 *   database authentication", docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.html).
 * - The signature follows SigV4 with its query parameters: algorithm `AWS4-HMAC-SHA256`, credential
 *   `<key id>/<YYYYMMDD>/<region>/<service>/aws4_request`, `X-Amz-Date` in ISO 8601 basic form, signed
 *   header `host`. Source: "Create a signed AWS API request" (docs.aws.amazon.com/IAM/latest/UserGuide/
 *   reference_sigv-create-signed-request.html). The payload hash is that of the empty body, as the RDS
 *   signers compute it (not S3's `UNSIGNED-PAYLOAD`).
 * - A signature from a clock up to 5 minutes ahead is taken: "a request must reach AWS within five
 *   minutes of the time stamp in the request" ("Signing AWS API requests", docs.aws.amazon.com/IAM/
 *   latest/UserGuide/reference_sigv.html).
 */
export const RDS_IAM_TOKEN = Object.freeze({
  signingService: 'rds-db',
  action: 'connect',
  userParameter: 'DBUser',
  algorithm: 'AWS4-HMAC-SHA256',
  scopeTerminator: 'aws4_request',
  signedHeaders: 'host',
  /** SHA-256 of the empty body. */
  payloadHash: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  lifetimeMs: 15 * 60_000,
  clockSkewMs: 5 * 60_000,
});

/**
 * RDS checks IAM tokens through PAM, and every refused one reads the same, whatever was wrong:
 * `FATAL: PAM authentication failed for user "<user>"` (SQLSTATE 28000), as users of RDS report it
 * (warp-tech/warpgate#1906, pgadmin-org/pgadmin4#2929). AWS documents no more specific text.
 *
 * @example
 * console.log(rdsRefusal('app_user')); // PAM authentication failed for user "app_user"
 */
export function rdsRefusal(user: string): string {
  return `PAM authentication failed for user "${user}"`;
}
