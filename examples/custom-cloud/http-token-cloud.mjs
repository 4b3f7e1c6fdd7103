// @ts-check
// A cloud defined outside pg-passwordless, as a package of its own would define one: PostgreSQL behind a
// token endpoint on the local host (the App Service managed-identity protocol, with plain fetch).
// Register it in code ({ plugins: [httpTokenCloud] }) or by its path or package name in
// PG_PASSWORDLESS_PLUGINS; the pools, the preload, the CLI and the doctor then serve it as a built-in.
import { defineCloud, PasswordlessError } from 'pg-passwordless';
import { httpTokenDoctor } from './http-token-doctor.mjs';
import { checkedEndpoint, resolveHttpTokenOptions } from './http-token-options.mjs';
import { httpTokenSource } from './http-token-source.mjs';

/**
 * The http-token cloud. On by being registered (switch it off with PG_PASSWORDLESS_HTTP_TOKEN_ENABLED=false
 * or PG_PASSWORDLESS_DENY=http-token); its section in code is `{ 'http-token': { url, header, resource } }`.
 *
 * @example
 * import pg from 'pg';
 * import { createPool } from 'pg-passwordless/pg';
 * import httpTokenCloud from './http-token-cloud.mjs';
 *
 * const pool = await createPool(process.env.DATABASE_URL ?? '', { pg, settings: { plugins: [httpTokenCloud] } });
 * console.log((await pool.query('select current_user')).rows[0]); // { current_user: 'orders-api' }
 * await pool.end();
 */
export default defineCloud({
  name: 'http-token',
  title: 'PostgreSQL behind an HTTP token endpoint',
  variables: {
    HTTP_TOKEN_URL: 'the token endpoint (default: IDENTITY_ENDPOINT)',
    HTTP_TOKEN_HEADER: 'the secret sent as X-IDENTITY-HEADER (default: IDENTITY_HEADER)',
    HTTP_TOKEN_RESOURCE: 'the audience of the token (default: https://ossrdbms-aad.database.windows.net)',
  },
  resolveOptions: resolveHttpTokenOptions,
  identify({ target, options }) {
    const endpoint = checkedEndpoint(options.url);
    // The endpoint's token names no role the server would read: the role comes from the URL or PGUSER.
    if (target.user === undefined) {
      throw new PasswordlessError('USER_MISSING', 'The http-token cloud needs the role to log in as.', {
        hint: 'Put the role in the URL (postgresql://<role>@<host>/<database>) or set PGUSER.',
      });
    }
    const resource = String(options.resource);
    return {
      // What is fetched and how; never the header secret.
      cacheKey: `${endpoint.href}|${resource}|${options.requestTimeoutMs ?? ''}`,
      createSource: () => httpTokenSource(options),
      facts: { endpoint: endpoint.href, resource },
    };
  },
  doctor: httpTokenDoctor,
});
