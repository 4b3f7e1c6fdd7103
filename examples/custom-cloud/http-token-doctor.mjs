// @ts-check
// What `pg-passwordless doctor` asks of the http-token cloud: where its token comes from (never the
// secret), and its names for the refusals a server behind such an endpoint sends.
import { DEFAULT_RESOURCE } from './http-token-options.mjs';
import { SECRET_HEADER } from './http-token-source.mjs';

/**
 * Where a resolved value came from: "in <the first of `names` that holds it>", else "given in code".
 *
 * @param {string | undefined} value
 * @param {import('pg-passwordless').Env} env
 * @param {string[]} names
 */
function originOf(value, env, names) {
  const name = names.find((candidate) => env[candidate] !== undefined && env[candidate] === value);
  return name ? `in ${name}` : 'given in code';
}

/**
 * Where the endpoint, the resource and the header secret come from (the doctor adds the endpoint and
 * resource themselves, from the cloud's facts); the secret's value never shows. The cloud's own
 * variables that are not set, so that the App Service ones answer, are listed as skipped.
 *
 * @example
 * const finding = describeHttpTokenCredential({
 *   env: { IDENTITY_ENDPOINT: 'http://127.0.0.1:41741/msi/token', IDENTITY_HEADER: 's3cret' },
 *   options: { url: 'http://127.0.0.1:41741/msi/token', header: 's3cret', resource: 'https://ossrdbms-aad.database.windows.net' },
 * });
 * console.log(finding.chosen);
 * // the token endpoint in IDENTITY_ENDPOINT, the default resource, X-IDENTITY-HEADER in IDENTITY_HEADER (set, not shown)
 * console.log(finding.skipped); // [ 'HTTP_TOKEN_URL: not set', 'HTTP_TOKEN_HEADER: not set' ]
 *
 * @param {import('pg-passwordless').CredentialContext<import('./http-token-options.mjs').HttpTokenSettings>} context
 * @returns {import('pg-passwordless').CredentialFinding}
 */
export function describeHttpTokenCredential({ env, options }) {
  const skipped = ['HTTP_TOKEN_URL', 'HTTP_TOKEN_HEADER']
    .filter((name) => !env[name])
    .map((name) => `${name}: not set`);
  if (!options.url) {
    return {
      ok: false,
      chosen: 'no token endpoint: HTTP_TOKEN_URL and IDENTITY_ENDPOINT are not set',
      skipped,
      hint: 'Set HTTP_TOKEN_URL to the token endpoint of this host (or run where IDENTITY_ENDPOINT is set).',
    };
  }
  const endpoint = `the token endpoint ${originOf(options.url, env, ['HTTP_TOKEN_URL', 'IDENTITY_ENDPOINT'])}`;
  const resource =
    !env.HTTP_TOKEN_RESOURCE && options.resource === DEFAULT_RESOURCE
      ? 'the default resource'
      : `the resource ${originOf(options.resource, env, ['HTTP_TOKEN_RESOURCE'])}`;
  if (!options.header) {
    return {
      ok: true,
      chosen: `${endpoint}, ${resource}, no ${SECRET_HEADER} (HTTP_TOKEN_HEADER and IDENTITY_HEADER are not set)`,
      skipped,
      hint: `An endpoint that wants the ${SECRET_HEADER} secret answers 401 without it: set HTTP_TOKEN_HEADER.`,
    };
  }
  const header = `${SECRET_HEADER} ${originOf(options.header, env, ['HTTP_TOKEN_HEADER', 'IDENTITY_HEADER'])}`;
  return { ok: true, chosen: `${endpoint}, ${resource}, ${header} (set, not shown)`, skipped };
}

/**
 * The server's words for a token asked for the wrong resource (Azure Database for PostgreSQL's text,
 * which the emulator sends too), named with this cloud's own code and the variable that fixes it.
 * Anything else is left to the doctor's generic reading (expiry, clock, a missing role).
 *
 * @example
 * const diagnosis = explainHttpTokenRefusal(
 *   {
 *     message: 'The access token does not have a valid audience claim. Please acquire a new token for the resource "https://ossrdbms-aad.database.windows.net".',
 *     said: 'the server refused the login (SQLSTATE 28000): ...',
 *   },
 *   { user: 'orders-api', host: '127.0.0.1', port: 5432, facts: { resource: 'https://example.org' }, now: Date.now },
 * );
 * console.log(diagnosis?.code, diagnosis?.hint); // HTTP_TOKEN_WRONG_RESOURCE Set HTTP_TOKEN_RESOURCE=https://ossrdbms-aad.database.windows.net ...
 *
 * @param {{ sqlState?: string, message: string, said: string }} refusal
 * @param {import('pg-passwordless').LoginContext} context
 * @returns {import('pg-passwordless').LoginDiagnosis | undefined}
 */
export function explainHttpTokenRefusal({ message, said }, { token, facts }) {
  const wanted = /valid audience claim.*resource "([^"]+)"/i.exec(message)?.[1];
  if (!wanted) return undefined;
  const audience = typeof token?.audience === 'string' ? token.audience : facts.resource;
  return {
    code: 'HTTP_TOKEN_WRONG_RESOURCE',
    detail: `${said}; the endpoint issued the token for ${audience ?? 'another resource'}, the server wants ${wanted}`,
    hint: `Set HTTP_TOKEN_RESOURCE=${wanted} (or { 'http-token': { resource: '${wanted}' } } in code) and connect again.`,
  };
}

/**
 * How to create the role when the server has none of this name that takes the endpoint's tokens.
 *
 * @param {import('pg-passwordless').LoginContext} context
 */
function roleMissingHint({ user, facts }) {
  return (
    `Create the role "${user}" on the server for the identity that ${facts.endpoint ?? 'the token endpoint'} answers for, ` +
    `or put the role that identity already has in the URL (postgresql://<role>@<host>/<database>).`
  );
}

/**
 * What the doctor asks of the http-token cloud. No `readToken`: its tokens are JWTs, which the doctor
 * reads on its own (audience, times).
 *
 * @type {import('pg-passwordless').CloudDoctor<import('./http-token-options.mjs').HttpTokenSettings>}
 */
export const httpTokenDoctor = {
  describeCredential: describeHttpTokenCredential,
  explainRefusal: explainHttpTokenRefusal,
  roleMissingHint,
  caHint: 'the CA of the server behind the token endpoint: set PGSSLROOTCERT to its PEM file',
};
