import { PasswordlessError } from '../../core/errors.ts';
import { SecretToken } from '../../core/secret.ts';
import type { GoogleAuthLike } from './settings.ts';
import type { FetchedToken, TokenSource } from '../../core/token-source.ts';

/** The scope the Cloud SQL connectors request for IAM database logins. */
export const SQLSERVICE_LOGIN_SCOPE = 'https://www.googleapis.com/auth/sqlservice.login';

/** OAuth2 access tokens last an hour; used when the client does not say. */
const DEFAULT_LIFETIME_MS = 60 * 60_000;

/**
 * Access tokens from google-auth-library (Application Default Credentials). The library caches its
 * token until 5 minutes before expiry, which the token cache notices as "same token" answers.
 *
 * @example
 * const source = gcpTokenSource(new GoogleAuth({ scopes: [SQLSERVICE_LOGIN_SCOPE] }));
 */
export function gcpTokenSource(auth: GoogleAuthLike, now: () => number = Date.now): TokenSource {
  const describe = () => 'Google Application Default Credentials (scope sqlservice.login)';
  return {
    describe,
    async fetchToken(): Promise<FetchedToken> {
      try {
        const client = await auth.getClient();
        const { token } = await client.getAccessToken();
        if (!token)
          throw new PasswordlessError('CREDENTIAL_UNAVAILABLE', `${describe()} returned no access token.`);
        const expiresAtMs = client.credentials?.expiry_date ?? now() + DEFAULT_LIFETIME_MS;
        return { token: new SecretToken(token), expiresAtMs };
      } catch (error) {
        if (error instanceof PasswordlessError) throw error;
        throw toPasswordlessError(error, describe());
      }
    },
  };
}

function toPasswordlessError(error: unknown, where: string): PasswordlessError {
  const message = (error as Error | null)?.message ?? String(error);
  const status =
    (error as { response?: { status?: number }; status?: number } | null)?.response?.status ??
    (error as { status?: number })?.status;
  if (/Could not load the default credentials/i.test(message)) {
    return new PasswordlessError('CREDENTIAL_UNAVAILABLE', `${where}: no Google credentials are available.`, {
      cause: error,
      hint: 'Run on GCP with a service account, set GOOGLE_APPLICATION_CREDENTIALS, or start `pg-passwordless emulator --cloud gcp`.',
    });
  }
  const retryable = status === undefined || status === 429 || status >= 500;
  return new PasswordlessError('TOKEN_ENDPOINT_FAILED', `${where}: ${message}`, {
    cause: error,
    retryable,
    hint: retryable
      ? 'The metadata server failed; pg-passwordless retries with backoff.'
      : 'Check the service account and its roles/cloudsql.instanceUser.',
  });
}
