/**
 * Azure's facts as the emulator checks them, written from Microsoft's documentation, never imported from
 * the library it checks: a wrong constant there must fail here.
 */

/** The sovereign clouds of Azure Database for PostgreSQL. */
export type AzureCloudName = 'public' | 'usgov' | 'china';

/**
 * The audience (`aud`) Azure Database for PostgreSQL accepts in each cloud: the resource a client asks a
 * token for (the scope is this plus `/.default`). Sources: "Use Microsoft Entra ID for authentication
 * with Azure Database for PostgreSQL" (learn.microsoft.com/azure/postgresql/security/
 * security-entra-configure: `az account get-access-token --resource https://ossrdbms-aad.database.windows.net`,
 * or `--resource-type oss-rdbms` for any cloud), and the clouds' `ossrdbms_resource_id` endpoints that
 * `--resource-type oss-rdbms` reads (`az cloud show --query endpoints.ossrdbmsResourceId`; azure-cli,
 * src/azure-cli-core/azure/cli/core/cloud.py, github.com/Azure/azure-cli).
 */
export const ACCEPTED_AUDIENCES: Readonly<Record<AzureCloudName, string>> = Object.freeze({
  public: 'https://ossrdbms-aad.database.windows.net',
  usgov: 'https://ossrdbms-aad.database.usgovcloudapi.net',
  china: 'https://ossrdbms-aad.database.chinacloudapi.cn',
});

/**
 * The hosts of the token issuers (`iss`) in each cloud, for the v1 form (what a managed identity gets
 * for a v1 resource such as the database's: `https://<v1>/<tenant>/`) and the v2 form
 * (`https://<v2>/<tenant>/v2.0`). Sources: "Access token claims reference" (learn.microsoft.com/entra/
 * identity-platform/access-token-claims-reference: `iss` names the STS and the tenant, and ends in
 * `/v2.0` for v2 tokens) and "National clouds" (learn.microsoft.com/entra/identity-platform/
 * authentication-national-cloud: the authority hosts login.microsoftonline.us and
 * login.chinacloudapi.cn). The public cloud's v1 host is `sts.windows.net`; the sovereign v1 hosts
 * follow their clouds' STS.
 */
export const ENTRA_ISSUER_HOSTS: Readonly<Record<AzureCloudName, { v1: string; v2: string }>> = Object.freeze(
  {
    public: { v1: 'sts.windows.net', v2: 'login.microsoftonline.com' },
    usgov: { v1: 'login.microsoftonline.us', v2: 'login.microsoftonline.us' },
    china: { v1: 'sts.chinacloudapi.cn', v2: 'login.chinacloudapi.cn' },
  },
);

/**
 * How far a token's `nbf` may lie ahead of the server's clock: the 5 minutes Microsoft's token
 * validation allows by default. Source: "TokenValidationParameters.DefaultClockSkew Field"
 * (learn.microsoft.com/dotnet/api/microsoft.identitymodel.tokens.tokenvalidationparameters.defaultclockskew:
 * "300 seconds (5 minutes)"). Expiry gets no such grace: Azure refuses a token once `exp` has passed.
 */
export const NOT_BEFORE_SKEW_SECONDS = 300;

/**
 * The lifetime the emulator gives tokens unless told otherwise: an hour. Source: "Microsoft Entra
 * authentication with Azure Database for PostgreSQL" (learn.microsoft.com/azure/postgresql/security/
 * security-entra-concepts, FAQ "What's the token lifetime?": "User tokens are valid for up to 1 hour.
 * Tokens for system-assigned managed identities are valid for up to 24 hours.").
 */
export const DEFAULT_TOKEN_LIFETIME_SECONDS = 3600;

/**
 * The FATAL texts of a refused Entra login (SQLSTATE 28000). Those Azure's users have reported are
 * Azure's own words: `audience` (microsoft/azuredatastudio-postgresql#505), `expired`
 * (darold/ora2pg#1851), `appTokenForUserRole` (MicrosoftDocs/azure-docs#120133) and its mirror
 * `userTokenForServiceRole`. Azure documents no text for the other refusals; for those the emulator
 * says what it checked.
 */
export const ENTRA_REFUSALS = Object.freeze({
  audience: (resource: string) =>
    `The access token does not have a valid audience claim. Please acquire a new token for the resource "${resource}".`,
  expired: 'The access token has expired. Please acquire a new token and retry.',
  appTokenForUserRole: (role: string) =>
    `Service Principals cannot generate AAD_AUTH_TOKENTYPE_APP_USER tokens for role[${role}]`,
  userTokenForServiceRole: (role: string) =>
    `Users cannot generate AAD_AUTH_TOKENTYPE_APP tokens for role[${role}]`,
  signature: 'An error occurred while validating the access token. The signature is invalid.',
  issuer: 'An error occurred while validating the access token. The issuer is not valid.',
  notYetValid: 'The access token is not yet valid.',
  tenant: 'The access token was issued by a tenant this server does not trust.',
  otherPrincipal: (role: string) =>
    `The access token does not belong to role "${role}": its object id does not match the role's.`,
});

/**
 * The issuers (`iss`) of a tenant's tokens in an Azure cloud: its v1 form first, then its v2 form.
 *
 * @example
 * console.log(entraIssuers('public', '72f988bf-0000-4000-8000-00000000e1e1'));
 * // [ 'https://sts.windows.net/72f988bf-0000-4000-8000-00000000e1e1/',
 * //   'https://login.microsoftonline.com/72f988bf-0000-4000-8000-00000000e1e1/v2.0' ]
 */
export function entraIssuers(cloud: AzureCloudName, tenantId: string): [v1: string, v2: string] {
  const { v1, v2 } = ENTRA_ISSUER_HOSTS[cloud];
  return [`https://${v1}/${tenantId}/`, `https://${v2}/${tenantId}/v2.0`];
}

/**
 * The Entra v2 endpoints a confidential client asks, under the authority `https://<host>/<tenant>`:
 * MSAL first reads the tenant's OpenID metadata, then posts the client credentials grant to the
 * `token_endpoint` it names. Sources: "Microsoft identity platform and the OAuth 2.0 client credentials
 * flow" (learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow: `POST
 * /{tenant}/oauth2/v2.0/token` with `grant_type=client_credentials`, `client_id`, `scope` and
 * `client_secret`, or `client_assertion_type` + `client_assertion`; the answer `{ token_type: "Bearer",
 * expires_in, access_token }`), and "OpenID Connect on the Microsoft identity platform"
 * (learn.microsoft.com/entra/identity-platform/v2-protocols-oidc: the metadata document at
 * `/{tenant}/v2.0/.well-known/openid-configuration`, with `token_endpoint`, `authorization_endpoint`,
 * `issuer` and `jwks_uri`).
 */
export const ENTRA_V2 = Object.freeze({
  metadataPath: (tenant: string) => `/${tenant}/v2.0/.well-known/openid-configuration`,
  tokenPath: (tenant: string) => `/${tenant}/oauth2/v2.0/token`,
  authorizePath: (tenant: string) => `/${tenant}/oauth2/v2.0/authorize`,
  keysPath: (tenant: string) => `/${tenant}/discovery/v2.0/keys`,
  grantType: 'client_credentials',
  assertionType: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
  /** The client credentials flow asks for a resource's application permissions: `<resource>/.default`. */
  defaultScopeSuffix: '/.default',
});

/**
 * How an application proves itself with a certificate: a JWT it signs, whose header names the
 * certificate by thumbprint and whose claims name the token endpoint (`aud`) and the client (`iss` =
 * `sub` = the client id), valid from `nbf` to `exp`. Source: "Microsoft identity platform application
 * authentication certificate credentials" (learn.microsoft.com/entra/identity-platform/
 * certificate-credentials: `alg` PS256 with `x5t#S256`, the base64url SHA-256 thumbprint of the
 * certificate's DER; earlier revisions of the page, and Entra still, take RS256 with `x5t`, the SHA-1
 * thumbprint, which MSAL sends when it is given only that).
 */
export const CERTIFICATE_ASSERTION = Object.freeze({
  algorithms: ['PS256', 'RS256'] as string[],
  thumbprintHeaders: { 'x5t#S256': 'sha256', x5t: 'sha1' } as Readonly<Record<string, 'sha256' | 'sha1'>>,
});

/**
 * Microsoft Entra Workload ID on AKS, as the emulator plays the cluster's side: the webhook projects a
 * service account token for the audience `api://AzureADTokenExchange`, valid 3600 s by default, to
 * `/var/run/secrets/azure/tokens/azure-identity-token`, and sets AZURE_CLIENT_ID, AZURE_TENANT_ID,
 * AZURE_FEDERATED_TOKEN_FILE and AZURE_AUTHORITY_HOST; the cluster's issuer is
 * `https://{region}.oic.prod-aks.azure.com/{tenant_id}/{uuid}/` and the subject
 * `system:serviceaccount:<namespace>:<service account>`. Sources: azure-workload-identity, "Mutating
 * Admission Webhook" and "Service Account Labels and Annotations" (azure.github.io/azure-workload-identity:
 * the variables, and `service-account-token-expiration` default 3600); "Create an OpenID Connect provider
 * on Azure Kubernetes Service" (learn.microsoft.com/azure/aks/use-oidc-issuer: the issuer URL); "Workload
 * identity federation: considerations" (learn.microsoft.com/entra/workload-id/, the federated credential's
 * *issuer* and *subject* must match the token's `iss` and `sub` exactly, and its audience "must be
 * api://AzureADTokenExchange").
 */
export const WORKLOAD_IDENTITY = Object.freeze({
  audience: 'api://AzureADTokenExchange',
  tokenLifetimeSeconds: 3600,
  /** The kubelet renews a projected token once 80% of its life has passed (Kubernetes, "Configure Service Accounts for Pods", service account token volume projection). */
  renewAtFraction: 0.8,
  issuer: (region: string, tenantId: string, clusterId: string) =>
    `https://${region}.oic.prod-aks.azure.com/${tenantId}/${clusterId}/`,
  subject: (namespace: string, serviceAccount: string) =>
    `system:serviceaccount:${namespace}:${serviceAccount}`,
});

/** One refusal of the Entra token endpoint: its HTTP status, OAuth `error`, and AADSTS code and text. */
export interface EntraRefusal {
  status: number;
  error: string;
  code: number;
  description: string;
}

const refusal = (status: number, error: string, code: number, text: string): EntraRefusal => ({
  status,
  error,
  code,
  description: `AADSTS${code}: ${text}`,
});

/**
 * The refusals of the Entra token endpoint the emulator can give, each with the status, `error` and
 * AADSTS text Entra answers with. The codes are those of "Microsoft Entra authentication and
 * authorization error codes" (learn.microsoft.com/entra/identity-platform/reference-error-codes:
 * 700016, 90002, 700027, 7000215, 7000216, 70011, 70003); the full texts and statuses are Entra's
 * answers as users report them: 700016 `unauthorized_client` (Azure/azure-sdk-for-python#8314), 90002
 * `invalid_tenant` from the metadata document and `invalid_request` from the token endpoint
 * (Azure/azure-cli#24376, microsoft/azure-tools-for-java#3900), 700024 401 `invalid_client`
 * (risingwavelabs/risingwave#17123), 70021 401 `invalid_client` (external-secrets/external-secrets#2783;
 * azure-workload-identity's troubleshooting page), 7000215 401 `invalid_client` (Azure/sap-automation#418),
 * 700027 `invalid_client` (keycloak/keycloak#19425), 7000216 401 `invalid_client`
 * (stephaneey/azure-apim-extension#138), and 70011 from the client credentials page's error example.
 */
export const ENTRA_TOKEN_REFUSALS = Object.freeze({
  unknownClient: (clientId: string, tenantId: string) =>
    refusal(
      400,
      'unauthorized_client',
      700016,
      `Application with identifier '${clientId}' was not found in the directory '${tenantId}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
    ),
  unknownTenant: (tenant: string, error: 'invalid_tenant' | 'invalid_request') =>
    refusal(
      400,
      error,
      90002,
      `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
    ),
  assertionOutOfTime: (nowIso: string, fromIso: string, untilIso: string) =>
    refusal(
      401,
      'invalid_client',
      700024,
      `Client assertion is not within its valid time range. Current time: ${nowIso}, assertion valid from ${fromIso}, expiry time of assertion ${untilIso}. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .`,
    ),
  noFederatedRecord: (issuer: string, subject: string, audience: string) =>
    refusal(
      401,
      'invalid_client',
      70021,
      `No matching federated identity record found for presented assertion. Assertion Issuer: '${issuer}'. Assertion Subject: '${subject}'. Assertion Audience: '${audience}'. https://docs.microsoft.com/en-us/azure/active-directory/develop/workload-identity-federation`,
    ),
  keyNotRegistered: (thumbprint: string, clientId: string) =>
    refusal(
      401,
      'invalid_client',
      700027,
      `The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '${thumbprint}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '${clientId}'.]`,
    ),
  badSignature: () => refusal(401, 'invalid_client', 700027, 'Client assertion failed signature validation.'),
  badSecret: (clientId: string) =>
    refusal(
      401,
      'invalid_client',
      7000215,
      `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`,
    ),
  noCredential: () =>
    refusal(
      401,
      'invalid_client',
      7000216,
      "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.",
    ),
  badScope: (scope: string) =>
    refusal(
      400,
      'invalid_scope',
      70011,
      `The provided value for the input parameter 'scope' is not valid. The scope ${scope} is not valid.`,
    ),
  badGrant: () =>
    refusal(400, 'unsupported_grant_type', 70003, 'The app returned an unsupported grant type.'),
  /**
   * An assertion Entra cannot take for other reasons (no thumbprint, wrong `iss`/`sub` or `aud`): code
   * 50027 "InvalidJwtToken" of the error code reference, which lists those reasons; Entra's exact words
   * for each are not documented, so the emulator says what it checked.
   */
  invalidJwt: (reason: string) => refusal(401, 'invalid_client', 50027, `Invalid JWT token. ${reason}`),
});
