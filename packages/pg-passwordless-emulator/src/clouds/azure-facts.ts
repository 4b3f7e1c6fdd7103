/**
 * Azure's facts as the emulator checks them, written from Microsoft's documentation, never imported from
 * the library it checks: a wrong constant there must fail here.
 */

/** The sovereign clouds of Azure Database for PostgreSQL. */
export type AzureCloudName = 'public' | 'usgov' | 'china';

/**
 * The audience (`aud`) Azure Database for PostgreSQL accepts in each cloud: the resource a client asks a
 * token for. Sources: "Connect with Microsoft Entra ID" (learn.microsoft.com/azure/postgresql/
 * flexible-server/how-to-connect-with-managed-identity: `https://ossrdbms-aad.database.windows.net`), and
 * the sovereign clouds' endpoints (learn.microsoft.com/azure/azure-government/documentation-government-
 * developer-guide; learn.microsoft.com/azure/china/resources-developer-guide): `...usgovcloudapi.net`,
 * `...chinacloudapi.cn`.
 */
export const ACCEPTED_AUDIENCES: Readonly<Record<AzureCloudName, string>> = {
  public: 'https://ossrdbms-aad.database.windows.net',
  usgov: 'https://ossrdbms-aad.database.usgovcloudapi.net',
  china: 'https://ossrdbms-aad.database.chinacloudapi.cn',
};
