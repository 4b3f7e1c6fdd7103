import type { AzureCloud } from './options.ts';

/**
 * The Entra resource of Azure Database for PostgreSQL in each cloud (the token's `aud`).
 * Source: azure-cli's `ossrdbms_resource_id` per cloud.
 */
export const AZURE_POSTGRES_RESOURCES: Readonly<Record<AzureCloud, string>> = {
  public: 'https://ossrdbms-aad.database.windows.net',
  usgov: 'https://ossrdbms-aad.database.usgovcloudapi.net',
  china: 'https://ossrdbms-aad.database.chinacloudapi.cn',
};

/**
 * Which cloud a server is in, from its host name; the public cloud for any other name
 * (a private endpoint or a custom DNS name keeps the public audience unless `cloud` says otherwise).
 *
 * @example
 * cloudOfHost('srv.postgres.database.usgovcloudapi.net') // 'usgov'
 */
export function cloudOfHost(host: string): AzureCloud {
  const name = host.toLowerCase();
  if (name.endsWith('.postgres.database.usgovcloudapi.net')) return 'usgov';
  if (name.endsWith('.postgres.database.chinacloudapi.cn')) return 'china';
  return 'public';
}

/**
 * The scope to request: an explicit one, else the cloud's resource with `/.default`.
 *
 * @example
 * azureScope('srv.postgres.database.azure.com') // 'https://ossrdbms-aad.database.windows.net/.default'
 */
export function azureScope(host: string, options: { cloud?: AzureCloud; scope?: string } = {}): string {
  if (options.scope) return options.scope;
  return `${AZURE_POSTGRES_RESOURCES[options.cloud ?? cloudOfHost(host)]}/.default`;
}
