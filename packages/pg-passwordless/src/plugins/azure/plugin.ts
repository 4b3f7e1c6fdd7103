import type { ConnectionParams, Plugin } from '../../core/contract.ts';
import { PasswordlessError } from '../../core/errors.ts';
import { buildTlsOptions } from '../../core/tls.ts';
import { type TokenCache, tokenHandle } from '../../core/token-cache.ts';
import { readJwtClaims } from '../jwt-claims.ts';
import { loadPeer } from '../load-peer.ts';
import { azureScope } from './cloud.ts';
import { resolveAzureSettings, type TokenCredentialLike } from './settings.ts';
import { azureCredentialOptions, azureTokenSource, describeDefaultCredential } from './token-source.ts';
import { userFromClaims } from './user.ts';

type AzureIdentity = typeof import('@azure/identity');

/**
 * The `azure` plugin: Microsoft Entra ID tokens for Azure Database for PostgreSQL.
 * Enabled by `PG_PASSWORDLESS_AZURE_ENABLED=true` (behind `PG_PASSWORDLESS_ENABLED`) or
 * `{ azure: { enabled: true } }`. Uses `DefaultAzureCredential` (a user-assigned managed identity when
 * `PG_PASSWORDLESS_AZURE_CLIENT_ID` is set) or any credential passed in settings.
 *
 * @example
 * import { setDatabaseConnectionParams } from 'pg-passwordless';
 *
 * // DATABASE_URL=postgresql://orders-api@myserver.postgres.database.azure.com/orders
 * const params = await setDatabaseConnectionParams(process.env.DATABASE_URL ?? '', { azure: { enabled: true } });
 * console.log(params.user, typeof params.password); // orders-api function
 */
export const azurePlugin: Plugin = {
  name: 'azure',
  async setDatabaseConnectionParams(_connectionUrl, settings, target): Promise<ConnectionParams> {
    const azure = resolveAzureSettings(settings);
    if (!azure.enabled) return {};
    const ssl = buildTlsOptions(target, settings.tls, settings.env);
    const scope = azureScope(target.host, azure);
    const { clientId, credential } = azure;
    // Fail at start-up, not at the first connection, when the SDK is missing.
    const identity = credential
      ? undefined
      : await loadPeer<AzureIdentity>('@azure/identity', 'The azure plugin');

    // One cache per identity and scope, shared by every pool of the process; the credential is
    // built only for the first of them (the reference builds one per engine, a second for migrations).
    const cacheKey = credential ?? `azure|${clientId ?? ''}|${scope}`;
    const cache = settings.caches.getOrCreate(cacheKey, () => {
      const chosen: TokenCredentialLike =
        credential ??
        new (identity as AzureIdentity).DefaultAzureCredential(azureCredentialOptions(clientId));
      const label = credential
        ? (credential.constructor?.name ?? 'TokenCredential')
        : describeDefaultCredential(settings.env, clientId);
      return { source: azureTokenSource(chosen, scope, label), ...settings.tokenCache };
    });

    // Without a user in the URL (or PGUSER), the token says which role to use, where it says so reliably.
    const user = target.user ?? userFromClaims(readJwtClaims(await tokenForUserName(cache)));
    return { user, ssl, token: tokenHandle(cache) };
  },
};

/**
 * Fetches the token that names the role. Failing here fails closed (USER_MISSING): carrying on without
 * a user would log in as whatever PGUSER or the OS user happens to be.
 */
async function tokenForUserName(cache: TokenCache): Promise<string> {
  try {
    return await cache.getToken();
  } catch (cause) {
    throw new PasswordlessError(
      'USER_MISSING',
      'The connection URL names no user, and the token that would name the role could not be fetched.',
      {
        cause,
        hint: 'Put the role name in the URL (postgresql://<role>@host/db) so start-up does not depend on the identity endpoint; see the cause for why the fetch failed.',
      },
    );
  }
}
