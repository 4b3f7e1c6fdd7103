// @ts-check
// The settings section of the http-token cloud, and how the environment fills it in.
import { PasswordlessError } from 'pg-passwordless';

/** The audience Azure Database for PostgreSQL expects (the emulator's gateway checks it the same way). */
export const DEFAULT_RESOURCE = 'https://ossrdbms-aad.database.windows.net';

/**
 * The `http-token` section of the settings; each field given in code beats its variable.
 *
 * @typedef {object} HttpTokenSettings
 * @property {string} [url] The token endpoint; else HTTP_TOKEN_URL, else IDENTITY_ENDPOINT.
 * @property {string} [header] The endpoint's secret, sent as X-IDENTITY-HEADER; else HTTP_TOKEN_HEADER, else IDENTITY_HEADER.
 * @property {string} [resource] The audience to ask a token for; else HTTP_TOKEN_RESOURCE, else {@link DEFAULT_RESOURCE}.
 * @property {number} [requestTimeoutMs] How long one request may take before it is aborted (default 5000).
 */

/**
 * The section with the environment applied: explicit values first, then the cloud's own variables, then
 * the App Service ones, so that on App Service (and against the emulator) nothing needs setting.
 *
 * @example
 * const options = resolveHttpTokenOptions({}, { IDENTITY_ENDPOINT: 'http://127.0.0.1:41741/msi/token' });
 * console.log(options.url, options.resource); // http://127.0.0.1:41741/msi/token https://ossrdbms-aad.database.windows.net
 *
 * @param {Partial<HttpTokenSettings>} section
 * @param {import('pg-passwordless').Env} env
 * @returns {HttpTokenSettings}
 */
export function resolveHttpTokenOptions(section, env) {
  return {
    ...section,
    url: section.url ?? (env.HTTP_TOKEN_URL || env.IDENTITY_ENDPOINT || undefined),
    header: section.header ?? (env.HTTP_TOKEN_HEADER || env.IDENTITY_HEADER || undefined),
    resource: section.resource ?? (env.HTTP_TOKEN_RESOURCE || DEFAULT_RESOURCE),
  };
}

/**
 * The endpoint as a URL, checked: http or https, and no user or password in it (a secret belongs in
 * HTTP_TOKEN_HEADER, and the URL is shown by the doctor and in messages). No retry fixes a wrong URL,
 * so the cloud stops the connection with CONFIG_INVALID instead of going on without a token.
 *
 * @example
 * console.log(checkedEndpoint('http://127.0.0.1:41741/msi/token').port); // 41741
 *
 * @param {string | undefined} url
 * @returns {URL}
 */
export function checkedEndpoint(url) {
  if (!url) {
    throw new PasswordlessError('CONFIG_INVALID', 'The http-token cloud has no token endpoint.', {
      hint: "Set HTTP_TOKEN_URL (or IDENTITY_ENDPOINT), or { 'http-token': { url } } in code.",
    });
  }
  const parsed = URL.canParse(url) ? new URL(url) : undefined;
  if (!parsed || !/^https?:$/.test(parsed.protocol) || parsed.username || parsed.password) {
    throw new PasswordlessError(
      'CONFIG_INVALID',
      'HTTP_TOKEN_URL must be an http(s) URL without a user or password in it.',
      { hint: 'For example http://127.0.0.1:8081/msi/token; put the secret in HTTP_TOKEN_HEADER.' },
    );
  }
  return parsed;
}
