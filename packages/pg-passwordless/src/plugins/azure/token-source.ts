import type { Env } from '../../core/connection-url.ts';
import { PasswordlessError } from '../../core/errors.ts';
import { failureToError } from '../../core/failure-error.ts';
import { SecretToken } from '../../core/secret.ts';
import type { FetchedToken, TokenSource } from '../../core/token-source.ts';
import type { TokenCredentialLike } from './options.ts';

/**
 * Retries of the SDK's own pipeline per getToken: none. MSAL drops the endpoint's answer headers, so our
 * retry layer (4 attempts) is the only one, and a failing cold fetch sends at most 4 requests. By
 * default DefaultAzureCredential retries 5 times from 800 ms (6 requests, about 18 s, per getToken:
 * 24 requests over a minute with our attempts on top).
 */
const SDK_MAX_RETRIES = 0;

/**
 * The options pg-passwordless builds DefaultAzureCredential with: the user-assigned identity, if any, and
 * the SDK's own retries switched off (ours count every request, and honour Retry-After).
 *
 * @example
 * const { DefaultAzureCredential } = await import('@azure/identity');
 * const credential = new DefaultAzureCredential(azureCredentialOptions(process.env.AZURE_CLIENT_ID));
 */
export function azureCredentialOptions(clientId?: string): {
  managedIdentityClientId?: string;
  retryOptions: { maxRetries: number };
} {
  return {
    ...(clientId ? { managedIdentityClientId: clientId } : {}),
    retryOptions: { maxRetries: SDK_MAX_RETRIES },
  };
}

const HINTS = {
  unavailable:
    'On Azure, assign a managed identity to the app (and set PG_PASSWORDLESS_AZURE_CLIENT_ID for a user-assigned one); ' +
    'locally, run `az login` or start `npx pg-passwordless-emulator`. See https://aka.ms/azsdk/js/identity/troubleshoot',
  rejected: 'Check that the identity exists and may request this scope (client id, tenant, permissions).',
  transient:
    'The identity endpoint is unreachable, throttling or failing; pg-passwordless retries with backoff.',
};

/**
 * A token source over any Azure TokenCredential, for one scope. Failures are classified by the one
 * classifier: DefaultAzureCredential reports a 503 or a reset from the managed-identity endpoint as
 * CredentialUnavailableError deep in an AggregateAuthenticationError, and it is still retried.
 *
 * `forceRefresh` cannot get past MSAL: managed identity asks MSAL for `acquireToken({ resource })` with
 * no way to skip its process-wide cache, so the same token may come back, and the token cache sees it.
 * A credential without a cache (one the user wrote) gives a new token on every call anyway.
 *
 * @example
 * const { DefaultAzureCredential } = await import('@azure/identity');
 * const { createTokenCache } = await import('pg-passwordless');
 * const source = azureTokenSource(
 *   new DefaultAzureCredential(azureCredentialOptions()),
 *   'https://ossrdbms-aad.database.windows.net/.default',
 *   'DefaultAzureCredential',
 * );
 * const cache = createTokenCache({ source });
 * cache.close();
 */
export function azureTokenSource(credential: TokenCredentialLike, scope: string, label: string): TokenSource {
  const describe = () => `Microsoft Entra ID (${label}, scope ${scope})`;
  return {
    describe,
    // forceRefresh is not passed on: no TokenCredential option skips MSAL's cache (see above).
    async fetchToken(): Promise<FetchedToken> {
      let accessToken: Awaited<ReturnType<TokenCredentialLike['getToken']>>;
      try {
        accessToken = await credential.getToken(scope);
      } catch (error) {
        throw failureToError(error, describe(), HINTS);
      }
      if (!accessToken?.token) {
        throw new PasswordlessError('CREDENTIAL_UNAVAILABLE', `${describe()} returned no token.`, {
          hint: HINTS.unavailable,
        });
      }
      return {
        token: new SecretToken(accessToken.token),
        expiresAtMs: accessToken.expiresOnTimestamp,
        refreshAtMs: accessToken.refreshAfterTimestamp,
      };
    },
  };
}

/** Describes where DefaultAzureCredential will look, from the environment (no secrets: endpoints and ids only). */
export function describeDefaultCredential(env: Env, clientId: string | undefined): string {
  const where = env.IDENTITY_ENDPOINT
    ? `managed identity at ${env.IDENTITY_ENDPOINT}`
    : env.AZURE_POD_IDENTITY_AUTHORITY_HOST
      ? `managed identity (IMDS) at ${env.AZURE_POD_IDENTITY_AUTHORITY_HOST}`
      : 'environment, workload identity, managed identity or developer login';
  return `DefaultAzureCredential: ${where}${clientId ? `, client id ${clientId}` : ''}`;
}
