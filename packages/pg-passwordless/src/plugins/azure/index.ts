import { defineCloud } from '../../core/cloud.ts';
import { loadPeer } from '../../core/load-peer.ts';
import { defaultCredentialSource } from './default-credential.ts';
import { azureDoctor } from './doctor.ts';
import { resolveAzureOptions } from './options.ts';
import { roleFromToken } from './role.ts';
import { azureScope } from './scope.ts';
import { azureTokenSource } from './token-source.ts';

type AzureIdentity = typeof import('@azure/identity');

/**
 * Azure Database for PostgreSQL with Microsoft Entra ID tokens. Switched on by
 * `PG_PASSWORDLESS_AZURE_ENABLED=true` (behind `PG_PASSWORDLESS_ENABLED`) or `{ azure: { enabled: true } }`.
 * Uses `DefaultAzureCredential` as the environment configures it: a managed identity (user-assigned
 * when `PG_PASSWORDLESS_AZURE_CLIENT_ID` is set), workload identity, or a service principal (see
 * defaultCredentialSource); or any credential passed in settings. The scope follows the server's
 * sovereign cloud.
 *
 * @example
 * import { setDatabaseConnectionParams } from 'pg-passwordless';
 *
 * // DATABASE_URL=postgresql://orders-api@myserver.postgres.database.azure.com/orders
 * const params = await setDatabaseConnectionParams(process.env.DATABASE_URL ?? '', { azure: { enabled: true } });
 * console.log(params.user, typeof params.password); // orders-api function
 */
export const azureCloud = defineCloud({
  name: 'azure',
  title: 'Azure Database for PostgreSQL (Microsoft Entra ID)',
  variables: {
    PG_PASSWORDLESS_AZURE_CLIENT_ID: 'client id of a user-assigned managed identity',
  },
  resolveOptions: resolveAzureOptions,
  async identify({ target, options, env }) {
    const scope = azureScope(target.host, options);
    const { clientId, credential } = options;
    // Fail at start-up, not at the first connection, when the SDK is missing.
    const identity = credential
      ? undefined
      : await loadPeer<AzureIdentity>('@azure/identity', 'The azure plugin');
    return {
      // One cache per identity and scope, shared by every pool of the process; the credential is built
      // only for the first of them (the reference builds one per engine, a second for migrations).
      cacheKey: `${clientId ?? ''}|${scope}`,
      credential,
      createSource: () =>
        credential
          ? azureTokenSource(credential, scope, credential.constructor?.name ?? 'TokenCredential', { env })
          : defaultCredentialSource(identity as AzureIdentity, { scope, clientId, env }),
      // Without a user in the URL (or PGUSER), the token says which role to use, where it says so reliably.
      roleWhenUnnamed: ({ getToken }) => roleFromToken(getToken),
      facts: { scope },
    };
  },
  doctor: azureDoctor,
});

export type { AzureCloud, AzureSettings, TokenCredentialLike } from './options.ts';
