// @ts-check
// The token source of the http-token cloud: one GET to a local token endpoint, with plain fetch (no SDK).
// It speaks the App Service managed-identity protocol, which the emulator serves and which App Service,
// Azure Functions and Container Apps serve on their hosts:
//   GET $IDENTITY_ENDPOINT?api-version=2019-08-01&resource=<resource>, header X-IDENTITY-HEADER: $IDENTITY_HEADER
//   -> 200 { "access_token": "<jwt>", "expires_on": "<Unix seconds>", ... }
import { failureToError, PasswordlessError, SecretToken } from 'pg-passwordless';

/** The App Service managed-identity API version; the endpoint answers 400 to any other. */
const API_VERSION = '2019-08-01';

/** The header that carries the endpoint's secret (IDENTITY_HEADER on App Service). */
export const SECRET_HEADER = 'X-IDENTITY-HEADER';

/** What the user can do, per kind of failure; the library's classifier picks one (and decides on retries). */
const HINTS = {
  unavailable: 'Set HTTP_TOKEN_URL (or IDENTITY_ENDPOINT) to the token endpoint of this host.',
  rejected: `The endpoint refused the request: check HTTP_TOKEN_HEADER (its ${SECRET_HEADER} secret) and HTTP_TOKEN_RESOURCE.`,
  transient:
    'The token endpoint is unreachable, slow, throttling or failing; pg-passwordless retries with backoff.',
};

/**
 * A token source over the endpoint: fetches one token per call, and leaves sharing, refresh ahead and
 * retries to the library's token cache. HTTP errors become the library's PasswordlessError through
 * `failureToError`, so that 429 with Retry-After, 5xx and network errors are retried and 4xx is not.
 *
 * @example
 * import { httpTokenSource } from './http-token-source.mjs';
 *
 * const source = httpTokenSource({
 *   url: process.env.IDENTITY_ENDPOINT,
 *   header: process.env.IDENTITY_HEADER,
 *   resource: 'https://ossrdbms-aad.database.windows.net',
 * });
 * const { token, expiresAtMs } = await source.fetchToken();
 * console.log(String(token), new Date(expiresAtMs) > new Date()); // [redacted token] true
 *
 * @param {import('./http-token-options.mjs').HttpTokenSettings} options
 * @returns {import('pg-passwordless').TokenSource}
 */
export function httpTokenSource(options) {
  const { url, header, resource, requestTimeoutMs } = options;
  const describe = () => `the token endpoint ${url} (resource ${resource})`;
  return {
    describe,
    async fetchToken() {
      let answer;
      try {
        answer = await request(String(url), header, String(resource), requestTimeoutMs);
      } catch (error) {
        throw failureToError(error, describe(), HINTS);
      }
      return tokenOf(answer, describe());
    },
  };
}

/**
 * One GET. A redirect is refused: it would carry the secret header to wherever the answer points.
 * A request that hangs is aborted, so that the token cache's next attempt is not stuck behind it.
 *
 * @param {string} url
 * @param {string | undefined} header
 * @param {string} resource
 * @param {number | undefined} timeoutMs
 * @returns {Promise<unknown>}
 */
async function request(url, header, resource, timeoutMs = 5_000) {
  const target = new URL(url);
  target.searchParams.set('api-version', API_VERSION);
  target.searchParams.set('resource', resource);
  const response = await fetch(target, {
    headers: header ? { [SECRET_HEADER]: header } : {},
    redirect: 'error',
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!response.ok) {
    // The status and headers (Retry-After) are where the library's classifier looks for them.
    const said = await errorText(response);
    throw Object.assign(new Error(`[GET] "${url}": ${response.status} ${response.statusText}${said}`), {
      status: response.status,
      headers: response.headers,
    });
  }
  return response.json();
}

/**
 * The endpoint's own words for an error (`message` or `error_description`): an error answer holds no
 * token, but only these fields are read, and cut short.
 *
 * @param {Response} response
 */
async function errorText(response) {
  const body = /** @type {{ message?: unknown, error_description?: unknown } | null} */ (
    await response.json().catch(() => null)
  );
  const text = body?.message ?? body?.error_description;
  return typeof text === 'string' ? `: ${text.slice(0, 200)}` : '';
}

/**
 * The token and its expiry from a 200 answer. Nothing of the answer goes into an error: it holds the token.
 *
 * @param {unknown} answer
 * @param {string} where
 * @returns {import('pg-passwordless').FetchedToken}
 */
function tokenOf(answer, where) {
  const { access_token: token, expires_on: expiresOn } = /** @type {Record<string, unknown>} */ (
    answer ?? {}
  );
  const expiresAtMs = expiryMs(expiresOn);
  if (typeof token !== 'string' || token === '' || expiresAtMs === undefined) {
    throw new PasswordlessError(
      'TOKEN_ENDPOINT_FAILED',
      `${where} answered 200 without an access_token and a valid expires_on.`,
      { hint: 'Point HTTP_TOKEN_URL at an endpoint that speaks the App Service managed-identity protocol.' },
    );
  }
  return { token: new SecretToken(token), expiresAtMs };
}

/**
 * `expires_on` is Unix seconds, as a number or a numeric string, or an ISO 8601 date (what msal-node
 * accepts from App Service and IMDS).
 *
 * @param {unknown} value
 * @returns {number | undefined}
 */
function expiryMs(value) {
  if (typeof value === 'number' || (typeof value === 'string' && /^\d+$/.test(value))) {
    return Number(value) * 1000;
  }
  const parsed = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  return Number.isNaN(parsed) ? undefined : parsed;
}
