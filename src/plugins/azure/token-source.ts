import type { Env } from '../../core/connection-url.ts';
import { PasswordlessError } from '../../core/errors.ts';
import { SecretToken } from '../../core/secret.ts';
import type { TokenCredentialLike } from './settings.ts';
import type { FetchedToken, TokenSource } from '../../core/token-source.ts';

/**
 * A token source over any Azure TokenCredential, for one scope. Errors become PasswordlessErrors:
 * throttling (429) and server errors (5xx) are retryable; "no credential here" is a configuration
 * problem and is not.
 *
 * @example
 * const source = azureTokenSource(new DefaultAzureCredential(), 'https://ossrdbms-aad.database.windows.net/.default', 'DefaultAzureCredential');
 */
export function azureTokenSource(credential: TokenCredentialLike, scope: string, label: string): TokenSource {
  const describe = () => `Microsoft Entra ID (${label}, scope ${scope})`;
  return {
    describe,
    async fetchToken(): Promise<FetchedToken> {
      let accessToken: Awaited<ReturnType<TokenCredentialLike['getToken']>>;
      try {
        accessToken = await credential.getToken(scope);
      } catch (error) {
        throw toPasswordlessError(error, describe());
      }
      if (!accessToken?.token) {
        throw new PasswordlessError('CREDENTIAL_UNAVAILABLE', `${describe()} returned no token.`, {
          hint: 'The credential found no identity to use. See https://aka.ms/azsdk/js/identity/troubleshoot',
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

function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

function toPasswordlessError(error: unknown, where: string): PasswordlessError {
  const name = (error as { name?: string } | null)?.name;
  const inner = (error as { errors?: unknown[] } | null)?.errors ?? [];
  const status = statusOf(error) ?? inner.map(statusOf).find((code) => code !== undefined);
  if (status !== undefined) {
    const retryable = status === 408 || status === 429 || status >= 500;
    return new PasswordlessError(
      'TOKEN_ENDPOINT_FAILED',
      `${where}: the identity endpoint answered ${status}.`,
      {
        cause: error,
        retryable,
        hint: retryable
          ? 'The endpoint is throttling or failing; pg-passwordless retries with backoff.'
          : 'Check that the identity exists and may request this scope (client id, tenant, permissions).',
      },
    );
  }
  if (name === 'CredentialUnavailableError' || name === 'AggregateAuthenticationError') {
    return new PasswordlessError('CREDENTIAL_UNAVAILABLE', `${where}: no credential is available.`, {
      cause: error,
      hint:
        'On Azure, assign a managed identity to the app (and set PG_PASSWORDLESS_AZURE_CLIENT_ID for a user-assigned one); ' +
        'locally, run `az login` or start `pg-passwordless emulator`.',
    });
  }
  return new PasswordlessError(
    'TOKEN_ENDPOINT_FAILED',
    `${where}: ${(error as Error)?.message ?? String(error)}`,
    {
      cause: error,
      retryable: true,
      hint: 'A network error reaching the identity endpoint; pg-passwordless retries with backoff.',
    },
  );
}
