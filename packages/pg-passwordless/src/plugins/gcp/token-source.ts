import { PasswordlessError } from '../../core/errors.ts';
import { type FailureHints, failureToError } from '../../core/failure-error.ts';
import { SecretToken } from '../../core/secret.ts';
import type { FetchedToken, FetchOptions, TokenSource } from '../../core/token-source.ts';
import { GOOGLE_TOKEN_URL, type GoogleCredentialFile, missingSubjectTokenHint } from './credential-file.ts';
import type { GcpService, GoogleAuthLike } from './options.ts';
import { googleRefusalOf, remedyFor, withoutRequest } from './token-failure.ts';

/** The scope the Cloud SQL connectors request for IAM database logins. */
export const SQLSERVICE_LOGIN_SCOPE = 'https://www.googleapis.com/auth/sqlservice.login';

/**
 * The scope the AlloyDB connectors request for IAM database logins (the restricted one; AlloyDB also
 * takes cloud-platform): docs.cloud.google.com/alloydb/docs/connect-iam.
 */
export const ALLOYDB_LOGIN_SCOPE = 'https://www.googleapis.com/auth/alloydb.login';

/** Each service's name for people, and the scope its IAM logins want. */
export const GCP_SERVICES: Record<GcpService, { title: string; scope: string }> = {
  cloudsql: { title: 'Cloud SQL', scope: SQLSERVICE_LOGIN_SCOPE },
  alloydb: { title: 'AlloyDB', scope: ALLOYDB_LOGIN_SCOPE },
};

/** OAuth2 access tokens last an hour; used when the client does not say. */
const DEFAULT_LIFETIME_MS = 60 * 60_000;

/** The client google-auth-library hands out: OAuth2 clients (Compute, JWT, user) can also refresh on demand. */
type RefreshableClient = Awaited<ReturnType<GoogleAuthLike['getClient']>> & {
  refreshAccessToken?(): Promise<unknown>;
};

/** Where the token comes from, for messages and hints: the service, and the credentials file if any. */
export interface GcpSourceOptions {
  service?: GcpService;
  /** The file GOOGLE_APPLICATION_CREDENTIALS names, read; absent for the metadata server or a GoogleAuth in code. */
  file?: GoogleCredentialFile;
  now?: () => number;
}

/**
 * Access tokens from google-auth-library (Application Default Credentials). The library caches its
 * token until 5 minutes before expiry, which the token cache notices as "same token" answers;
 * `forceRefresh` goes past that cache by marking the client's credentials expired through its public
 * `setCredentials` (`expiry_date` in the past, the rest kept), so that the next `getAccessToken()`
 * fetches anew. `refreshAccessToken()` alone is not enough: a key's JWT client answers it from gtoken's
 * own cache until the token is near expiry (build/src/auth/jwtclient.js, `refreshTokenNoCache`), and an
 * external account's client has none (it refreshes when its `cachedAccessToken`, which
 * `setCredentials` replaces, has expired: build/src/auth/baseexternalclient.js).
 *
 * The SDK retries on its own, and no option reaches it: gcp-metadata asks gaxios for 3 retries (after
 * 100, 500 and 1,500 ms, `Retry-After` ignored) on network errors, 429 and 5xx. The classifier reads
 * those retries from the error, and our retry layer then leaves the next try to the next caller: a
 * failing cold fetch sends at most 4 requests in about 2 s (16 in 10 s otherwise).
 *
 * A refusal is named by the endpoint's own words (`invalid_grant: Invalid JWT Signature.`) with what to
 * do about it; the SDK's error is kept as `cause` without the request it failed on, which for a token
 * exchange holds the subject token.
 *
 * @example
 * const { GoogleAuth } = await import('google-auth-library');
 * const { createTokenCache } = await import('pg-passwordless');
 * const cache = createTokenCache({ source: gcpTokenSource(new GoogleAuth({ scopes: [SQLSERVICE_LOGIN_SCOPE] })) });
 * cache.close();
 */
export function gcpTokenSource(auth: GoogleAuthLike, options: GcpSourceOptions = {}): TokenSource {
  const { title, scope } = GCP_SERVICES[options.service ?? 'cloudsql'];
  const describe = () =>
    `Google ${options.file ? `credentials in ${options.file.path}` : 'Application Default Credentials'} (${title}, scope ${scope.split('/').pop()})`;
  const now = options.now ?? Date.now;
  return {
    describe,
    async fetchToken(fetch: FetchOptions = {}): Promise<FetchedToken> {
      let token: string | null | undefined;
      let client: RefreshableClient;
      try {
        client = await auth.getClient();
        if (fetch.forceRefresh) await forgetCachedToken(client);
        ({ token } = await client.getAccessToken());
      } catch (error) {
        throw fetchFailure(error, describe(), options.file);
      }
      if (!token) {
        throw new PasswordlessError('CREDENTIAL_UNAVAILABLE', `${describe()} returned no access token.`, {
          hint: hintsFor(options.file).unavailable,
        });
      }
      const expiresAtMs = client.credentials?.expiry_date ?? now() + DEFAULT_LIFETIME_MS;
      return { token: new SecretToken(token), expiresAtMs };
    },
  };
}

/** Makes the SDK's next `getAccessToken()` fetch a new token rather than answer from its cache. */
async function forgetCachedToken(client: RefreshableClient): Promise<void> {
  if (typeof client.setCredentials === 'function') {
    client.setCredentials({ ...client.credentials, expiry_date: 1 });
  } else if (typeof client.refreshAccessToken === 'function') {
    await client.refreshAccessToken();
  }
}

/** The failure as a typed error: the endpoint's refusal in its own words when it gave one, and the remedy. */
function fetchFailure(
  error: unknown,
  where: string,
  file: GoogleCredentialFile | undefined,
): PasswordlessError {
  const cause = withoutRequest(error);
  const missing =
    file?.subjectTokenFile && /does not exist, or it is not a file/.test(String((cause as Error).message));
  if (missing) {
    return new PasswordlessError(
      'CREDENTIAL_UNAVAILABLE',
      `${where}: the subject token file ${file.subjectTokenFile} does not exist.`,
      {
        cause,
        hint: missingSubjectTokenHint(file),
      },
    );
  }
  const refusal = googleRefusalOf(cause);
  const hints = hintsFor(file);
  const remedy = refusal && remedyFor(refusal, file);
  const failed = failureToError(cause, where, remedy ? { ...hints, rejected: remedy } : hints);
  if (!refusal || failed.code !== 'TOKEN_ENDPOINT_FAILED') return failed;
  const status = (cause as { status?: unknown }).status;
  return new PasswordlessError(
    failed.code,
    `${where}: the endpoint refused${typeof status === 'number' ? ` (${status})` : ''}: ${refusal.error}: ${refusal.description}`,
    { cause, retryable: failed.retryable, retryAfterMs: failed.retryAfterMs, hint: failed.hint },
  );
}

/** The hints for what the user can fix, by the kind of credential. */
function hintsFor(file: GoogleCredentialFile | undefined): FailureHints {
  if (file?.type === 'service_account') {
    return {
      unavailable: `Check the key file ${file.path} (GOOGLE_APPLICATION_CREDENTIALS).`,
      rejected: `Check the key's service account ${file.account ?? ''}, and that its key is not deleted.`,
      transient: `Google's token endpoint ${GOOGLE_TOKEN_URL} (where google-auth-library posts the key's assertions, through HTTPS_PROXY when set) is unreachable, throttling or failing; pg-passwordless retries with backoff.`,
    };
  }
  if (file?.type === 'external_account') {
    return {
      unavailable: `Check ${file.path} (GOOGLE_APPLICATION_CREDENTIALS) and its subject token ${file.subjectTokenFile ?? file.subjectTokenSource ?? ''}.`,
      rejected: `Check the provider ${file.audience ?? ''}, the subject token, and the principal's roles/iam.workloadIdentityUser on ${file.account ?? 'the service account'}.`,
      transient: `The token exchange at ${file.tokenUrl ?? 'the STS'} or the impersonation endpoint is unreachable, throttling or failing; pg-passwordless retries with backoff.`,
    };
  }
  return {
    unavailable:
      'Run on GCP with a service account, set GOOGLE_APPLICATION_CREDENTIALS, or start `npx pg-passwordless-emulator --cloud gcp`.',
    rejected:
      'Check the service account, its access scopes and its IAM database role (roles/cloudsql.instanceUser, roles/alloydb.databaseUser).',
    transient:
      'The metadata server is unreachable, throttling or failing; pg-passwordless retries with backoff.',
  };
}
