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
 * - A token signed with temporary credentials (an `X-Amz-Security-Token` in it) is refused once those
 *   credentials expire, within its 15 minutes too, with the same PAM text: a token lives no longer than
 *   the credentials that signed it, as users of RDS found ("Random PAM authentication failed",
 *   aws/aws-sdk-js-v3#8047; aws/aws-sdk-net#3050; bytebase/dbhub#437; npgsql/npgsql#5163).
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

/**
 * AWS STS's `AssumeRoleWithWebIdentity`, the exchange of IRSA (EKS IAM roles for service accounts), as
 * the emulator answers it.
 *
 * - The Query API: a form-encoded `POST` with `Action=AssumeRoleWithWebIdentity&Version=2011-06-15`,
 *   `RoleArn`, `RoleSessionName`, `WebIdentityToken`, optional `DurationSeconds` (900 to 43200, default
 *   3600); the answer is XML in the namespace `https://sts.amazonaws.com/doc/2011-06-15/`:
 *   `AssumeRoleWithWebIdentityResponse > AssumeRoleWithWebIdentityResult > Credentials` with
 *   `AccessKeyId`, `SecretAccessKey`, `SessionToken`, `Expiration` (ISO 8601), next to
 *   `SubjectFromWebIdentityToken`, `AssumedRoleUser`, `Provider`, `Audience`, and
 *   `ResponseMetadata > RequestId`. Sources: "AssumeRoleWithWebIdentity", AWS STS API Reference
 *   (docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html: parameters, sample
 *   response), "Making Query requests" (docs.aws.amazon.com/STS/latest/APIReference/API_Operations.html),
 *   and the STS client the SDK uses, @aws-sdk/nested-clients `dist-cjs/submodules/sts/index.js` (the
 *   `AwsQueryProtocol` with that namespace and version).
 * - The call needs no AWS credentials: STS checks the token itself (same page: "Calling
 *   AssumeRoleWithWebIdentity does not require the use of AWS security credentials").
 * - `RoleSessionName`: 2 to 64 characters of `[\w+=,.@-]` (same page); the SDK sends
 *   `AWS_ROLE_SESSION_NAME`, else `aws-sdk-js-session-<epoch ms>`.
 * - A refusal is the document `ErrorResponse > Error > Type, Code, Message` and `RequestId`, as STS
 *   sends it (quoted whole in mozilla-iam/mozilla-aws-cli#146 and #127).
 * - The SDK finds STS at `AWS_ENDPOINT_URL_STS`: the STS client's `serviceId` is `STS`, and
 *   @smithy/core `dist-cjs/submodules/endpoints/index.js` (`getEndpointUrlConfig`) reads
 *   `AWS_ENDPOINT_URL_<SERVICE ID>` ("Service-specific endpoints", AWS SDKs and Tools Reference Guide,
 *   docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html).
 */
export const STS_WEB_IDENTITY = Object.freeze({
  action: 'AssumeRoleWithWebIdentity',
  roleSessionName: /^[\w+=,.@-]{2,64}$/,
  version: '2011-06-15',
  xmlns: 'https://sts.amazonaws.com/doc/2011-06-15/',
  /** The audience IRSA's projected token carries, the client id of the cluster's OIDC provider. */
  audience: 'sts.amazonaws.com',
  defaultDurationSeconds: 3600,
  minDurationSeconds: 900,
  maxDurationSeconds: 43_200,
});

/** One refusal of STS, as its Query API sends it: HTTP status, `Error > Code`, `Error > Message`. */
export interface StsRefusal {
  status: number;
  code: string;
  message: string;
}

/**
 * STS's refusals of `AssumeRoleWithWebIdentity`, with the codes of the API reference's "Errors" section
 * (same page: `ExpiredTokenException` 400, `InvalidIdentityToken` 400, `IDPRejectedClaim` 403) and of
 * "Common Errors" (docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html: `AccessDenied`,
 * `InvalidAction`, `MissingParameter`), and the messages STS sends as users report them:
 * - `No OpenIDConnect provider found in your account for <iss>` (kubernetes-sigs/aws-load-balancer-controller#2315,
 *   mozilla-iam/mozilla-aws-cli#127: a token whose issuer no IAM OIDC provider names);
 * - `Incorrect token audience` (awslabs/amazon-eks-irsa-cfn#18: `aud` is not `sts.amazonaws.com`);
 * - `Token expired: current date/time <now> must be before the expiration date/time <exp>` in epoch
 *   seconds (aws/aws-sdk-java-v2#5709, awslabs/aws-orbit-workbench#771);
 * - `Not authorized to perform sts:AssumeRoleWithWebIdentity`, 403 (crossplane/crossplane#5578: the role's
 *   trust policy does not name this provider, audience or service account);
 * - `1 validation error detected: Value '<name>' at 'roleSessionName' failed to satisfy constraint: …`,
 *   the `ValidationError` of "Common Errors", with the constraint the name breaks: `Member must satisfy
 *   regular expression pattern: [\w+=,.@-]*` (aws-actions/configure-aws-credentials#1306, with
 *   AssumeRoleWithWebIdentity; zalando-stups/aws-credentials-service#7), `Member must have length less
 *   than or equal to 64` (youyo/awslogin#20).
 * A token whose signature fails gets `InvalidIdentityToken` with the API reference's description of it,
 * since no report quotes STS's words for that case; `InvalidAction` and `MissingParameter` carry the
 * descriptions of "Common Errors".
 *
 * @example
 * console.log(stsRefusals.expired(1_700_000_100_000, 1_700_000_000_000).message);
 * // Token expired: current date/time 1700000100 must be before the expiration date/time 1700000000
 * console.log(stsRefusals.notTrusted.status, stsRefusals.notTrusted.code); // 403 AccessDenied
 */
export const stsRefusals = Object.freeze({
  untrustedIssuer: (issuer: string): StsRefusal => ({
    status: 400,
    code: 'InvalidIdentityToken',
    message: `No OpenIDConnect provider found in your account for ${issuer}`,
  }),
  wrongAudience: { status: 400, code: 'InvalidIdentityToken', message: 'Incorrect token audience' },
  unverifiable: {
    status: 400,
    code: 'InvalidIdentityToken',
    message:
      'The web identity token that was passed could not be validated by AWS. Get a new identity token from the identity provider and then retry the request.',
  },
  expired: (nowMs: number, expiresAtMs: number): StsRefusal => ({
    status: 400,
    code: 'ExpiredTokenException',
    message: `Token expired: current date/time ${Math.floor(nowMs / 1000)} must be before the expiration date/time ${Math.floor(expiresAtMs / 1000)}`,
  }),
  notTrusted: {
    status: 403,
    code: 'AccessDenied',
    message: 'Not authorized to perform sts:AssumeRoleWithWebIdentity',
  },
  invalidAction: {
    status: 400,
    code: 'InvalidAction',
    message: 'The action or operation requested is invalid. Verify that the action is typed correctly.',
  },
  invalidSessionName: (name: string): StsRefusal => ({
    status: 400,
    code: 'ValidationError',
    message: `1 validation error detected: Value '${name}' at 'roleSessionName' failed to satisfy constraint: Member must ${
      name.length > 64
        ? 'have length less than or equal to 64'
        : name.length < 2
          ? 'have length greater than or equal to 2'
          : 'satisfy regular expression pattern: [\\w+=,.@-]*'
    }`,
  }),
  missingParameter: {
    status: 400,
    code: 'MissingParameter',
    message: 'A required parameter for the specified action is not supplied.',
  },
});

/**
 * The Kubernetes service-account tokens EKS projects into a pod, for IRSA and for EKS Pod Identity.
 *
 * - A JWT signed RS256 by the cluster's issuer `https://oidc.eks.<region>.amazonaws.com/id/<ID>`, `sub`
 *   `system:serviceaccount:<namespace>:<name>`, with the `kubernetes.io` claims (namespace, pod and
 *   service account names and uids). Sources: "Create an IAM OIDC provider for your cluster" (EKS User
 *   Guide, docs.aws.amazon.com/eks/latest/userguide/enable-iam-roles-for-service-accounts.html), the
 *   trust policy in "Assign IAM roles to Kubernetes service accounts"
 *   (docs.aws.amazon.com/eks/latest/userguide/associate-service-account-role.html: `<issuer>:sub` =
 *   `system:serviceaccount:<namespace>:<name>`, `<issuer>:aud` = `sts.amazonaws.com`).
 * - IRSA: audience `sts.amazonaws.com`, 86400 s of life, the file named by `AWS_WEB_IDENTITY_TOKEN_FILE`
 *   (aws/amazon-eks-pod-identity-webhook README: `--token-audience` default `sts.amazonaws.com`,
 *   `--token-expiration` default 86400, `AWS_WEB_IDENTITY_TOKEN_FILE`).
 * - EKS Pod Identity: audience `pods.eks.amazonaws.com`, the file named by
 *   `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`, sent as the `Authorization` header to the agent at
 *   `AWS_CONTAINER_CREDENTIALS_FULL_URI=http://169.254.170.23/v1/credentials`; the agent wants a `kid`
 *   of 40 hex digits (aws/eks-pod-identity-agent `internal/validation/claims_validation.go`:
 *   `expectedAudience`, `validKeyIDRegex`; `pkg/handlers/eks_credential_handler.go`: `/v1/credentials`;
 *   "Understand how EKS Pod Identity works", docs.aws.amazon.com/eks/latest/userguide/pod-id-how-it-works.html).
 */
export const EKS_SERVICE_ACCOUNT_TOKEN = Object.freeze({
  algorithm: 'RS256',
  irsaAudience: 'sts.amazonaws.com',
  podIdentityAudience: 'pods.eks.amazonaws.com',
  lifetimeSeconds: 86_400,
  podIdentityPath: '/v1/credentials',
  keyIdPattern: /^[0-9a-f]{40}$/,
  issuer: (region: string, clusterId: string) => `https://oidc.eks.${region}.amazonaws.com/id/${clusterId}`,
  subject: (namespace: string, name: string) => `system:serviceaccount:${namespace}:${name}`,
});

/**
 * How the EKS Pod Identity agent refuses a request, as its source writes it (aws/eks-pod-identity-agent):
 * `http.Error` with the reason as plain text and status 400 for what its own checks find
 * (`internal/validation/request.go`: "Service account token cannot be empty", "… cannot be parsed: …",
 * "… failed basic claim validations: …" with golang-jwt's `token is expired`), and EKS Auth's refusal
 * passed on with its status (`pkg/errors/errors.go`, `HandleCredentialFetchingError`:
 * `[<request id>]: (<code>): <message>, fault: client`), whose `InvalidTokenException` (400) means "The
 * specified Kubernetes service account token is invalid." ("AssumeRoleForPodIdentity", Amazon EKS API
 * Reference, docs.aws.amazon.com/eks/latest/APIReference/API_auth_AssumeRoleForPodIdentity.html).
 *
 * @example
 * console.log(podIdentityRefusals.expired); // { status: 400, text: 'Service account token failed basic claim validations: token is expired' }
 */
export const podIdentityRefusals = Object.freeze({
  empty: { status: 400, text: 'Service account token cannot be empty' },
  unparsable: {
    status: 400,
    text: 'Service account token cannot be parsed: token is malformed: token contains an invalid number of segments',
  },
  expired: { status: 400, text: 'Service account token failed basic claim validations: token is expired' },
  invalid: (requestId: string) => ({
    status: 400,
    text: `[${requestId}]: (InvalidTokenException): The specified Kubernetes service account token is invalid., fault: client`,
  }),
});
