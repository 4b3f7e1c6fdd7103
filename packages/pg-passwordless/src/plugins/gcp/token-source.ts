import { PasswordlessError } from '../../core/errors.ts';
import { failureToError } from '../../core/failure-error.ts';
import { SecretToken } from '../../core/secret.ts';
import type { FetchedToken, FetchOptions, TokenSource } from '../../core/token-source.ts';
import type { GoogleAuthLike } from './options.ts';

/** The scope the Cloud SQL connectors request for IAM database logins. */
export const SQLSERVICE_LOGIN_SCOPE = 'https://www.googleapis.com/auth/sqlservice.login';

/** OAuth2 access tokens last an hour; used when the client does not say. */
const DEFAULT_LIFETIME_MS = 60 * 60_000;

const HINTS = {
  unavailable:
    'Run on GCP with a service account, set GOOGLE_APPLICATION_CREDENTIALS, or start `npx pg-passwordless-emulator --cloud gcp`.',
  rejected: 'Check the service account, its access scopes and its roles/cloudsql.instanceUser.',
  transient:
    'The metadata server is unreachable, throttling or failing; pg-passwordless retries with backoff.',
};

/** The client google-auth-library hands out: OAuth2 clients (Compute, JWT, user) can also refresh on demand. */
type RefreshableClient = Awaited<ReturnType<GoogleAuthLike['getClient']>> & {
  refreshAccessToken?(): Promise<unknown>;
};

/**
 * Access tokens from google-auth-library (Application Default Credentials). The library caches its
 * token until 5 minutes before expiry, which the token cache notices as "same token" answers;
 * `forceRefresh` goes past that cache with the client's public `refreshAccessToken()`.
 *
 * The SDK retries on its own, and no option reaches it: gcp-metadata asks gaxios for 3 retries (after
 * 100, 500 and 1,500 ms, `Retry-After` ignored) on network errors, 429 and 5xx. The classifier reads
 * those retries from the error, and our retry layer then leaves the next try to the next caller: a
 * failing cold fetch sends at most 4 requests in about 2 s (16 in 10 s otherwise).
 *
 * @example
 * const { GoogleAuth } = await import('google-auth-library');
 * const { createTokenCache } = await import('pg-passwordless');
 * const cache = createTokenCache({ source: gcpTokenSource(new GoogleAuth({ scopes: [SQLSERVICE_LOGIN_SCOPE] })) });
 * cache.close();
 */
export function gcpTokenSource(auth: GoogleAuthLike, now: () => number = Date.now): TokenSource {
  const describe = () => 'Google Application Default Credentials (scope sqlservice.login)';
  return {
    describe,
    async fetchToken(options: FetchOptions = {}): Promise<FetchedToken> {
      let token: string | null | undefined;
      let client: RefreshableClient;
      try {
        client = await auth.getClient();
        if (options.forceRefresh && typeof client.refreshAccessToken === 'function')
          await client.refreshAccessToken();
        ({ token } = await client.getAccessToken());
      } catch (error) {
        throw failureToError(error, describe(), HINTS);
      }
      if (!token) {
        throw new PasswordlessError('CREDENTIAL_UNAVAILABLE', `${describe()} returned no access token.`, {
          hint: HINTS.unavailable,
        });
      }
      const expiresAtMs = client.credentials?.expiry_date ?? now() + DEFAULT_LIFETIME_MS;
      return { token: new SecretToken(token), expiresAtMs };
    },
  };
}
