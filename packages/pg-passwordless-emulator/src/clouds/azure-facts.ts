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
