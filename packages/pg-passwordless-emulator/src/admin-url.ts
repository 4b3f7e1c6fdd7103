import { EmulatorError } from './emulator-error.ts';

/** Where psql logs in as the superuser of a PostgreSQL the user runs. */
export interface AdminTarget {
  /** A host name, an address, or a Unix socket folder (`?host=/socket/folder`, as libpq reads it). */
  host: string;
  port: number;
  user: string;
  database: string;
  /** For psql's PGPASSWORD only: never in a message. */
  password: string | undefined;
  sslmode: string;
}

const NOT_A_URL_HINT =
  'Write it as postgresql://<superuser>@<host>:<port>/<database> (?host=/socket/folder for a Unix socket); percent-encode "@", "/", "?" and "#" in the password.';

/**
 * Reads the superuser URL of `--backend-url`: `postgresql://` or `postgres://` only. A libpq key/value
 * string is refused, and so is anything else `new URL` cannot read, without the string in the error:
 * the URL parser's own TypeError carries it whole (`input`), password and all. User and database
 * default to `postgres`, the port to 5432, `sslmode` to libpq's `prefer`.
 *
 * @example
 * console.log(parseAdminUrl('postgresql://admin:s3cret@db.internal:6543/app?sslmode=require'));
 * // { host: 'db.internal', port: 6543, user: 'admin', database: 'app', password: 's3cret', sslmode: 'require' }
 * console.log(parseAdminUrl('postgresql:///postgres?host=/run/postgresql').host); // /run/postgresql
 * try {
 *   parseAdminUrl("host=db password='s3cret'");
 * } catch (error) {
 *   console.log((error as Error).message.includes('s3cret')); // false
 * }
 */
export function parseAdminUrl(adminUrl: string): AdminTarget {
  let url: URL;
  try {
    url = new URL(adminUrl);
  } catch {
    // No `cause`: the TypeError keeps the whole string.
    throw new EmulatorError('EMULATOR_FAILED', 'The backend URL must be a postgresql:// URL.', {
      hint: NOT_A_URL_HINT,
    });
  }
  if (url.protocol !== 'postgresql:' && url.protocol !== 'postgres:') {
    throw new EmulatorError(
      'EMULATOR_FAILED',
      `The backend URL has scheme "${url.protocol}", not postgresql:`,
      {
        hint: NOT_A_URL_HINT,
      },
    );
  }
  const query = Object.fromEntries(url.searchParams);
  // The query's values are decoded already; a host in brackets is an IPv6 address.
  const host = query.host || decoded(url.hostname).replace(/^\[|\]$/g, '');
  if (!host)
    throw new EmulatorError('EMULATOR_FAILED', 'The backend URL names no host.', { hint: NOT_A_URL_HINT });
  return {
    host,
    port: portOf(url.port || query.port),
    user: decoded(url.username) || query.user || 'postgres',
    database: decoded(url.pathname.replace(/^\//, '')) || query.dbname || 'postgres',
    password: decoded(url.password) || query.password || undefined,
    sslmode: query.sslmode || 'prefer',
  };
}

/**
 * The URL as it may be shown: from the first ":" after the user name to the last "@" is hidden (a
 * password holding "/", "?" or "@" would otherwise leave pieces of itself in the host or the query),
 * and so is every `password=` parameter. Hiding a little too much is the safe side.
 *
 * @example
 * console.log(redactAdminUrl('postgresql://admin:s3cret@db.internal/app')); // postgresql://admin:***@db.internal/app
 * console.log(redactAdminUrl('postgresql://admin:12?x@db.internal/app')); // postgresql://admin:***@db.internal/app
 * console.log(redactAdminUrl('postgresql://db.internal/app?user=admin&password=s3cret'));
 * // postgresql://db.internal/app?user=admin&password=***
 */
export function redactAdminUrl(adminUrl: string): string {
  return adminUrl
    .replace(/([?&]password=)[^&#]*/gi, '$1***')
    .replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/?#]*):.*@/is, '$1:***@');
}

/** A percent-decoded part; a malformed escape is refused without showing the part. */
function decoded(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new EmulatorError('EMULATOR_FAILED', 'The backend URL has a malformed %-escape.', {
      hint: NOT_A_URL_HINT,
    });
  }
}

function portOf(text: string | undefined): number {
  if (!text) return 5432;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new EmulatorError('EMULATOR_FAILED', 'The backend URL has a port that is not 1 to 65535.', {
      hint: NOT_A_URL_HINT,
    });
  }
  return port;
}
