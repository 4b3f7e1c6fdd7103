import type { Env } from '../../core/connection-url.ts';
import { PasswordlessError } from '../../core/errors.ts';
import { classifyFailure } from '../../core/failure.ts';
import { failureToError } from '../../core/failure-error.ts';
import { SecretToken } from '../../core/secret.ts';
import type { FetchedToken, TokenSource } from '../../core/token-source.ts';
import { type AnswerRecorder, EndpointAnswerError } from './endpoint-answers.ts';
import { AZURE_HINTS, diagnoseEntraFailure, hintsOf } from './entra-hints.ts';
import type { TokenCredentialLike } from './options.ts';

/** What the token source reads besides the credential: the endpoint's recorded answers, the environment, the clock. */
export interface AzureSourceOptions {
  /** The answers of the credential's HTTP client (see createAnswerRecorder), for Retry-After and AADSTS codes. */
  answers?: AnswerRecorder;
  /** The variables the hints name (the token file, the client id); none by default. */
  env?: Env;
  /**
   * A new instance of the credential, to fetch with when the server refused the token (forceRefresh),
   * and after the identity endpoint answered 429 or 5xx: MSAL then refuses to send the same request again for 60 s, whatever the Retry-After: msal-common's
   * ThrottlingUtils reads `headers['Retry-After']` and falls back to DEFAULT_THROTTLE_TIME_SECONDS (60),
   * while @azure/identity's IdentityClient hands it the headers with lower-case names
   * (`response.headers.toJSON()`). That throttle lives in the credential's MSAL application; this source
   * honours the real Retry-After itself, and a fresh credential asks again once it has passed.
   */
  renewCredential?: () => TokenCredentialLike;
  now?: () => number;
}

/** Backoff after a 429 whose Retry-After could not be seen: 1 s, doubling, at most this. */
const MAX_UNSEEN_BACKOFF_MS = 32_000;

/**
 * A timer may fire a millisecond or two before `Date.now()` says its delay has passed: a retry that
 * waited out Retry-After to the millisecond is not refused for it.
 */
const TIMER_SLACK_MS = 5;

/**
 * A token source over any Azure TokenCredential, for one scope. Failures are classified by the one
 * classifier, with the identity endpoint's own answer when the credential's HTTP client recorded it
 * (its status, `Retry-After` and AADSTS code, which the SDK's error drops), and hinted by what Entra or
 * the file system said. DefaultAzureCredential reports a 503 or a reset from the managed-identity
 * endpoint as CredentialUnavailableError deep in an AggregateAuthenticationError, and it is still retried.
 *
 * `Retry-After` binds every fetch of this source, not only the retries of one: until it has passed, a
 * fetch fails at once (retryable, with the time left) and nothing is sent. A 429 whose header could not
 * be seen (a credential built by the caller) backs off 1 s, 2 s, 4 s... instead.
 *
 * `forceRefresh` (the server refused the token) fetches with a fresh credential where the source can
 * build one: the MSAL cache of workload identity and service principals belongs to the credential
 * instance, so the token comes newly issued. Managed identity's cache is process-wide (MSAL asks
 * `acquireToken({ resource })` with no way to skip it): the same token may come back, and the token
 * cache sees it.
 *
 * @example
 * const { DefaultAzureCredential } = await import('@azure/identity');
 * const { createTokenCache } = await import('pg-passwordless');
 * const source = azureTokenSource(
 *   new DefaultAzureCredential({ retryOptions: { maxRetries: 0 } }),
 *   'https://ossrdbms-aad.database.windows.net/.default',
 *   'DefaultAzureCredential',
 * );
 * const cache = createTokenCache({ source });
 * cache.close();
 */
export function azureTokenSource(
  credential: TokenCredentialLike,
  scope: string,
  label: string,
  options: AzureSourceOptions = {},
): TokenSource {
  const describe = () => `Microsoft Entra ID (${label}, scope ${scope})`;
  const throttle = createThrottle(options.now ?? Date.now);
  let current = credential;
  return {
    describe,
    // forceRefresh is not passed to getToken: no TokenCredential option skips MSAL's cache (see above).
    async fetchToken(fetchOptions): Promise<FetchedToken> {
      throttle.check(describe());
      if (fetchOptions?.forceRefresh && options.renewCredential) current = options.renewCredential();
      options.answers?.reset();
      let accessToken: Awaited<ReturnType<TokenCredentialLike['getToken']>>;
      try {
        accessToken = await current.getToken(scope);
      } catch (error) {
        const status = options.answers?.lastFailure()?.status ?? 0;
        if (options.renewCredential && (status === 429 || status >= 500)) current = options.renewCredential();
        throw throttle.observe(classify(error, describe(), options));
      }
      throttle.clear();
      if (!accessToken?.token) {
        throw new PasswordlessError('CREDENTIAL_UNAVAILABLE', `${describe()} returned no token.`, {
          hint: AZURE_HINTS.unavailable,
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

/**
 * The SDK's error as a PasswordlessError: with the endpoint's recorded answer put where the classifier
 * finds it, and hinted by what Entra or the file system said. A token or certificate file that cannot
 * be read means no identity here (CREDENTIAL_UNAVAILABLE), whatever wrapper the SDK put around it.
 */
function classify(error: unknown, where: string, options: AzureSourceOptions): PasswordlessError {
  const answer = options.answers?.lastFailure();
  const diagnosis = diagnoseEntraFailure({ error, answer, env: options.env ?? {} });
  if (diagnosis?.unreadableFile) {
    return new PasswordlessError('CREDENTIAL_UNAVAILABLE', `${where}: ${diagnosis.unreadableFile}.`, {
      cause: error,
      hint: diagnosis.hint,
    });
  }
  return failureToError(answer ? new EndpointAnswerError(answer, error) : error, where, hintsOf(diagnosis));
}

/**
 * When the endpoint may be asked again: after the `Retry-After` it sent (on any failure), or after a
 * backoff that doubles for each 429 without one. A success or another failure resets the backoff.
 * A fetch refused meanwhile carries the failure that set the wait as its cause, so the caller still
 * sees the endpoint's status (429, 503) and not only that nothing was sent.
 */
function createThrottle(now: () => number) {
  let notBeforeMs = 0;
  let unseen = 0;
  let lastFailure: PasswordlessError | undefined;
  return {
    check(where: string): void {
      const waitMs = notBeforeMs - now();
      if (waitMs <= TIMER_SLACK_MS) return;
      throw new PasswordlessError(
        'TOKEN_ENDPOINT_FAILED',
        `${where}: the identity endpoint asked to be left alone ${Math.ceil(waitMs / 1000)} s more; not asked before then.`,
        { cause: lastFailure, retryable: true, retryAfterMs: waitMs, hint: AZURE_HINTS.transient },
      );
    },
    observe(error: PasswordlessError): PasswordlessError {
      lastFailure = error;
      const throttled = classifyFailure(error).reason === 'throttled';
      unseen = throttled && error.retryAfterMs === undefined ? unseen + 1 : 0;
      if (error.retryAfterMs !== undefined) notBeforeMs = now() + error.retryAfterMs;
      if (unseen === 0) return error;
      const backoffMs = Math.min(MAX_UNSEEN_BACKOFF_MS, 1000 * 2 ** (unseen - 1));
      notBeforeMs = now() + backoffMs;
      const said = error.hint ? error.message.slice(0, error.message.lastIndexOf('\nHint: ')) : error.message;
      return new PasswordlessError(
        error.code,
        `${said} No Retry-After could be seen: backing off ${backoffMs} ms.`,
        {
          cause: error.cause,
          retryable: true,
          retryAfterMs: backoffMs,
          hint: error.hint,
        },
      );
    },
    clear(): void {
      notBeforeMs = 0;
      unseen = 0;
      lastFailure = undefined;
    },
  };
}
