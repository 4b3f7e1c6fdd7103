import { PasswordlessError } from '../core/errors.ts';
import type { DriverTls } from '../core/tls.ts';

/** The TLS a target client is built with: pg's `ssl` (options for tls.connect), or `false` for none. */
export type ClientTls = Record<string, unknown> | false;

/**
 * The app's own TLS choice for one client, as pg reads it (`ssl` in the config or the connection
 * string, else PGSSLMODE, else options set in `pg.defaults.ssl`), turned into what pg will hand to
 * tls.connect: `true` and no choice at all become `{}` (pg's `true` is Node's defaults: verified against
 * the system store), `'no-verify'` becomes `{ rejectUnauthorized: false }` as in pg, and an object is
 * copied with every property as it is (pg and pg-pool hide `key` as non-enumerable: a spread would drop
 * the client key). The copy is the app's alone to keep; the library's options are added to it at
 * connect ({@link completeTls}), since the plugins run then.
 *
 * @example
 * console.log(appTlsOptions(true), appTlsOptions(undefined)); // {} {}
 * console.log(appTlsOptions('no-verify'), appTlsOptions(false)); // { rejectUnauthorized: false } false
 * const ssl = { cert: 'CERT PEM', servername: 'db.internal' };
 * Object.defineProperty(ssl, 'key', { value: 'KEY PEM', enumerable: false }); // as pg-pool leaves it
 * console.log((appTlsOptions(ssl) as { key?: string }).key); // KEY PEM
 */
export function appTlsOptions(ssl: unknown): ClientTls {
  if (ssl === undefined) return {};
  // false, null, 0, '': pg connects without TLS.
  if (!ssl) return false;
  if (ssl === 'no-verify') return { rejectUnauthorized: false };
  // true, 'true': pg passes no options to tls.connect.
  if (typeof ssl !== 'object') return {};
  return Object.defineProperties({}, Object.getOwnPropertyDescriptors(ssl)) as Record<string, unknown>;
}

/**
 * Adds the library's TLS options (`params.ssl` from the plugins: `rejectUnauthorized: true`, the CA
 * named by PGSSLROOTCERT / sslrootcert or the cloud's own, a `checkServerIdentity`) to the app's, in
 * place, under the one rule of the preload: keep what the app chose, add what verification needs,
 * refuse what would weaken it. Every option the app set is kept, its `ca` included: a CA the app names
 * in code is its explicit choice for this server, as libpq's sslrootcert is, and it wins over
 * PGSSLROOTCERT. Refused, with TLS_REQUIRED, when the library verifies the server and the app would not:
 * `ssl: false` (or sslmode=disable in its connection string) and `rejectUnauthorized: false` (or
 * sslmode=no-verify). A `checkServerIdentity` of the app's that accepts any name cannot be told apart
 * from one that pins a certificate, and is kept.
 *
 * @example
 * const ssl = appTlsOptions({ ca: 'APP CA PEM', cert: 'CLIENT CERT PEM' });
 * completeTls(ssl, { rejectUnauthorized: true, ca: 'PGSSLROOTCERT PEM' }, 'db.example.com:5432');
 * console.log(ssl); // { ca: 'APP CA PEM', cert: 'CLIENT CERT PEM', rejectUnauthorized: true }
 * try {
 *   completeTls({ rejectUnauthorized: false }, { rejectUnauthorized: true }, 'db.example.com:5432');
 * } catch (error) {
 *   console.log((error as { code?: string }).code); // TLS_REQUIRED
 * }
 */
export function completeTls(ssl: ClientTls, library: DriverTls | undefined, target: string): void {
  // No TLS options from the plugins (only a third-party plugin does that; the built-in ones always
  // send theirs): the app's choice stands as it is.
  if (typeof library !== 'object') return;
  if (library.rejectUnauthorized !== false) refuseWeaker(ssl, target);
  if (ssl) fillMissing(ssl, library);
}

function refuseWeaker(ssl: ClientTls, target: string): void {
  if (ssl === false) {
    throw new PasswordlessError(
      'TLS_REQUIRED',
      `The app turns TLS off (ssl: false or sslmode=disable) for ${target}, where pg-passwordless/register sends a token.`,
      {
        hint: "Remove ssl: false / sslmode=disable for this database: the preload connects to it with verified TLS, and keeps the app's other ssl options.",
      },
    );
  }
  if (ssl.rejectUnauthorized === false) {
    throw new PasswordlessError(
      'TLS_REQUIRED',
      `The app turns certificate verification off (rejectUnauthorized: false or sslmode=no-verify) for ${target}, where pg-passwordless/register sends a token.`,
      {
        hint: 'Remove rejectUnauthorized: false / sslmode=no-verify for this database. If its certificate comes from a private CA, give that CA as ssl.ca or in PGSSLROOTCERT.',
      },
    );
  }
}

/** Sets each of the library's options that the app left unset (undefined counts as unset, as in tls.connect). */
function fillMissing(ssl: Record<string, unknown>, library: object): void {
  for (const [name, value] of Object.entries(library)) {
    if (ssl[name] === undefined) ssl[name] = value;
  }
}
