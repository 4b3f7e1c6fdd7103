/**
 * Google's OAuth 2.0 endpoints as the emulator plays them: the token endpoint a service-account key
 * signs its assertions for, the Security Token Service (STS) of workload identity federation, and the
 * IAM Credentials API that turns a federated token into a service account's token. Each value is cited;
 * where Google documents no wording, the one its endpoints return as users report it is cited instead.
 */

/** An OAuth error answer (RFC 6749 section 5.2: `error`, `error_description`), with its HTTP status. */
export interface OAuthRefusal {
  status: number;
  error: string;
  description: string;
}

/**
 * Google's token endpoint, and the assertion's `aud`: "A descriptor of the intended target of the
 * assertion. When making an access token request this value is always https://oauth2.googleapis.com/token"
 * ("Using OAuth 2.0 for Server to Server Applications", developers.google.com/identity/protocols/oauth2/
 * service-account, "Forming the JWT claim set"). A key file names it as `token_uri`.
 */
export const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';

/** The JWT bearer grant of RFC 7523, the `grant_type` of the same page's "Making the access token request". */
export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/** "This value has a maximum of 1 hour after the issued time" (`exp`, same page). */
export const MAX_ASSERTION_LIFETIME_SECONDS = 3600;

/**
 * The token endpoint's refusals, as it words them (each 400, as RFC 6749 section 5.2 has them):
 * - a wrong grant: `unsupported_grant_type` "Invalid grant_type: <value>" (android/play-billing-samples#471);
 * - no scope: `invalid_scope` "Empty or missing scope not allowed." (pulkitjalan/google-apiclient#32);
 * - a scope that is none: `invalid_scope` "Invalid OAuth scope or ID token audience provided."
 *   (googleapis/python-genai#944);
 * - an `iss` that is no account: `invalid_grant` "Invalid grant: account not found" (googleapis/
 *   google-cloud-php#3622: "arises when the service account is disabled or deleted");
 * - a signature no key of the account verifies: `invalid_grant` "Invalid JWT Signature." (googleapis/
 *   google-cloud-python#10004; crossplane-contrib/provider-jet-gcp#56: a key deleted in the console);
 * - an `aud` that is not this endpoint: `invalid_grant` "Invalid JWT: Failed audience check."
 *   (google/oauth2l#130);
 * - an expired assertion, one living longer than an hour, or one issued in the future: `invalid_grant`
 *   "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check
 *   your iat and exp values and use a clock with skew to account for clock differences between systems."
 *   (googleapis/google-api-php-client#1501, fastlane/fastlane#14972).
 */
export const TOKEN_ENDPOINT_REFUSALS = {
  grantType: (grant: string): OAuthRefusal => ({
    status: 400,
    error: 'unsupported_grant_type',
    description: `Invalid grant_type: ${grant}`,
  }),
  noScope: { status: 400, error: 'invalid_scope', description: 'Empty or missing scope not allowed.' },
  badScope: {
    status: 400,
    error: 'invalid_scope',
    description: 'Invalid OAuth scope or ID token audience provided.',
  },
  unknownAccount: { status: 400, error: 'invalid_grant', description: 'Invalid grant: account not found' },
  signature: { status: 400, error: 'invalid_grant', description: 'Invalid JWT Signature.' },
  audience: { status: 400, error: 'invalid_grant', description: 'Invalid JWT: Failed audience check.' },
  timeframe: {
    status: 400,
    error: 'invalid_grant',
    description:
      'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values and use a clock with skew to account for clock differences between systems.',
  },
} satisfies Record<string, OAuthRefusal | ((value: string) => OAuthRefusal)>;

/**
 * How far ahead of the endpoint's clock an assertion's `iat` may be. Google does not document its
 * tolerance; its message asks clients for "a clock with skew". The emulator allows a minute.
 */
export const ASSERTION_CLOCK_SKEW_SECONDS = 60;

/**
 * The Security Token Service's token exchange (RFC 8693), "Method: token" (cloud.google.com/iam/docs/
 * reference/sts/rest/v1/TopLevel/token): `grantType` "urn:ietf:params:oauth:grant-type:token-exchange",
 * `requestedTokenType` "urn:ietf:params:oauth:token-type:access_token", and for an OIDC token
 * `subjectTokenType` "urn:ietf:params:oauth:token-type:jwt" (or `id_token`). Its default endpoint is
 * `https://sts.googleapis.com/v1/token`, the `token_url` of an `external_account` file.
 */
export const STS = {
  grantType: 'urn:ietf:params:oauth:grant-type:token-exchange',
  requestedTokenType: 'urn:ietf:params:oauth:token-type:access_token',
  subjectTokenTypes: ['urn:ietf:params:oauth:token-type:jwt', 'urn:ietf:params:oauth:token-type:id_token'],
  issuedTokenType: 'urn:ietf:params:oauth:token-type:access_token',
  path: '/v1/token',
} as const;

/**
 * The `audience` of a workload identity pool provider: "The full resource name of the identity
 * provider; for example: //iam.googleapis.com/projects/<project-number>/locations/global/
 * workloadIdentityPools/<pool-id>/providers/<provider-id>" (same STS page, `audience`).
 *
 * @example
 * console.log(providerResourceName('271828182845', 'ci', 'emulator'));
 * // //iam.googleapis.com/projects/271828182845/locations/global/workloadIdentityPools/ci/providers/emulator
 */
export function providerResourceName(projectNumber: string, pool: string, provider: string): string {
  return `//iam.googleapis.com/projects/${projectNumber}/locations/global/workloadIdentityPools/${pool}/providers/${provider}`;
}

/** What an audience must look like to be a provider's resource name at all. */
export const PROVIDER_AUDIENCE_PATTERN =
  /^\/\/iam\.googleapis\.com\/projects\/[^/]+\/locations\/[^/]+\/workloadIdentityPools\/[^/]+\/providers\/[^/]+$/;

/**
 * The `aud` an OIDC subject token may carry when the provider lists no allowed audiences: "the OIDC
 * token audience must be equal to the full canonical resource name of the WorkloadIdentityPoolProvider,
 * with or without the HTTPS prefix" (IAM API, `WorkloadIdentityPoolProvider.Oidc.allowedAudiences`,
 * cloud.google.com/iam/docs/reference/rest/v1/projects.locations.workloadIdentityPools.providers).
 *
 * @example
 * console.log(defaultAllowedAudiences('//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/q')[1]);
 * // https://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/q
 */
export function defaultAllowedAudiences(resourceName: string): string[] {
  return [resourceName, `https:${resourceName}`];
}

/**
 * The STS refusals, as it words them:
 * - an audience that is no provider's name: 400 `invalid_request` "Invalid value for "audience". This
 *   value should be the full resource name of the Identity Provider. See https://cloud.google.com/iam/
 *   docs/reference/sts/rest/v1/TopLevel/token for the list of possible formats." (google-github-actions/
 *   auth#60, #211);
 * - a provider that does not exist: 400 `invalid_target` "The target service indicated by the "audience"
 *   parameters is invalid. This might either be because the pool or provider is disabled or deleted or
 *   because it doesn't exist." (google-github-actions/auth#161, #334);
 * - a subject token whose `aud` the provider does not allow: 400 `invalid_grant` "The audience in ID
 *   Token [<aud>] does not match the expected audience." (the rule: `allowedAudiences` above, "Token
 *   exchange requests are rejected if the token audience does not match one of the configured values";
 *   the wording as users of Vault and Terraform Cloud credentials report it, which Google does not
 *   document);
 * - a subject token that has expired: 400 `invalid_grant` "ID Token issued at <iat> is stale to sign-in."
 *   (Google's "Config Sync known issues", docs.cloud.google.com/kubernetes-engine/config-sync/docs/how-to/
 *   known-issues, for a workload identity federation token refreshed too late);
 * - a subject token whose signature or issuer the provider does not trust, or a request that is no
 *   token exchange: Google documents no wording; the emulator answers `invalid_grant` / `invalid_request`
 *   (RFC 6749 section 5.2, RFC 8693 section 2.2.2) with descriptions of its own, which say so.
 */
export const STS_REFUSALS = {
  audienceFormat: {
    status: 400,
    error: 'invalid_request',
    description:
      'Invalid value for "audience". This value should be the full resource name of the Identity Provider. See https://cloud.google.com/iam/docs/reference/sts/rest/v1/TopLevel/token for the list of possible formats.',
  },
  unknownProvider: {
    status: 400,
    error: 'invalid_target',
    description:
      'The target service indicated by the "audience" parameters is invalid. This might either be because the pool or provider is disabled or deleted or because it doesn\'t exist.',
  },
  subjectAudience: (audience: string): OAuthRefusal => ({
    status: 400,
    error: 'invalid_grant',
    description: `The audience in ID Token [${audience}] does not match the expected audience.`,
  }),
  stale: (issuedAtSeconds: number): OAuthRefusal => ({
    status: 400,
    error: 'invalid_grant',
    description: `ID Token issued at ${issuedAtSeconds} is stale to sign-in.`,
  }),
  untrusted: {
    status: 400,
    error: 'invalid_grant',
    description: 'The subject token is not signed by the provider’s issuer (emulator wording).',
  },
  malformed: (what: string): OAuthRefusal => ({
    status: 400,
    error: 'invalid_request',
    description: `${what} (emulator wording).`,
  }),
} satisfies Record<string, OAuthRefusal | ((value: never) => OAuthRefusal)>;

/**
 * IAM Credentials `generateAccessToken` ("Method: projects.serviceAccounts.generateAccessToken",
 * cloud.google.com/iam/docs/reference/credentials/rest/v1/projects.serviceAccounts/generateAccessToken):
 * `POST https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/{email}:generateAccessToken`
 * with `{ scope: [...], lifetime: "3600s" }`, answered `{ accessToken, expireTime }` (RFC 3339); the
 * caller needs `iam.serviceAccounts.getAccessToken` on the account, which a federated principal gets from
 * `roles/iam.workloadIdentityUser`.
 */
export const GENERATE_ACCESS_TOKEN_PATH =
  /^\/v1\/projects\/-\/serviceAccounts\/([^/:]+):generateAccessToken$/;

/** The `lifetime` the API takes by default and at most ("3600s", unless an organization policy extends it). */
export const MAX_GENERATED_TOKEN_LIFETIME_SECONDS = 3600;

/** A Google API error body (`google.rpc.Status` as JSON), with its HTTP status. */
export interface GoogleApiRefusal {
  status: number;
  body: { error: { code: number; message: string; status: string } };
}

/**
 * The IAM Credentials refusals:
 * - a caller without the permission, or an account that does not exist: 403 `PERMISSION_DENIED`
 *   "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist)."
 *   (google-github-actions/auth#340, #526);
 * - no usable bearer token: 401 `UNAUTHENTICATED` "Request had invalid authentication credentials.
 *   Expected OAuth 2 access token, login cookie or other valid authentication credential. See
 *   https://developers.google.com/identity/sign-in/web/devconsole-project." ("Troubleshoot workload
 *   identity federation", cloud.google.com/iam/docs/troubleshooting-workload-identity-federation).
 */
export const IAM_CREDENTIALS_REFUSALS: Record<'denied' | 'unauthenticated', GoogleApiRefusal> = {
  denied: {
    status: 403,
    body: {
      error: {
        code: 403,
        message: "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).",
        status: 'PERMISSION_DENIED',
      },
    },
  },
  unauthenticated: {
    status: 401,
    body: {
      error: {
        code: 401,
        message:
          'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
        status: 'UNAUTHENTICATED',
      },
    },
  },
};
