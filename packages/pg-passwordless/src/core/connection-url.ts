import { PasswordlessError, printable } from './errors.ts';

export type Env = Readonly<Record<string, string | undefined>>;

/** The parts of a PostgreSQL connection URL that pg-passwordless needs. */
export interface ConnectionTarget {
  host: string;
  port: number;
  database: string | undefined;
  /** Undefined when neither the URL nor PGUSER names one. */
  user: string | undefined;
  /** Query parameters such as `sslmode` and `sslrootcert`. */
  params: Readonly<Record<string, string>>;
}

const DEFAULT_PORT = 5432;

/**
 * Parses a `postgres://` / `postgresql://` URL (also the `postgresql+driver://` form that
 * SQLAlchemy-style settings use). Missing parts come from the standard PGHOST, PGPORT, PGUSER and
 * PGDATABASE variables, as libpq does. An empty URL means "everything from the environment".
 * A password in the URL is ignored: the token replaces it.
 *
 * @example
 * console.log(parseConnectionUrl('postgresql://app@db.postgres.database.azure.com/orders', {}));
 * // { host: 'db.postgres.database.azure.com', port: 5432, database: 'orders', user: 'app', params: {} }
 * console.log(parseConnectionUrl('', { PGHOST: 'localhost', PGUSER: 'dev' }).user); // dev
 */
export function parseConnectionUrl(connectionUrl: string, env: Env = {}): ConnectionTarget {
  const fromEnv = {
    host: env.PGHOST || undefined,
    port: env.PGPORT || undefined,
    user: env.PGUSER || undefined,
    database: env.PGDATABASE || undefined,
  };
  if (connectionUrl.trim() === '') {
    if (!fromEnv.host) {
      throw new PasswordlessError('URL_INVALID', 'No connection URL was given and PGHOST is not set.', {
        hint: 'Pass a URL such as postgresql://<role>@<server>.postgres.database.azure.com:5432/<database>, or set PGHOST.',
      });
    }
    return {
      host: fromEnv.host,
      port: parsePort(fromEnv.port),
      database: fromEnv.database,
      user: fromEnv.user,
      params: {},
    };
  }

  let url: URL;
  try {
    url = new URL(connectionUrl);
  } catch {
    // No `cause`: the parser's TypeError keeps the raw URL (`input`), password and all.
    throw new PasswordlessError(
      'URL_INVALID',
      `The connection URL is not a valid URL: ${redactUrl(connectionUrl)}`,
      {
        hint: 'Use the form postgresql://<role>@<host>:5432/<database>; percent-encode "@" in the role name as %40.',
      },
    );
  }
  const scheme = url.protocol.replace(/:$/, '').split('+')[0];
  if (scheme !== 'postgres' && scheme !== 'postgresql') {
    throw new PasswordlessError(
      'URL_INVALID',
      `The connection URL has scheme "${url.protocol}", not postgresql:`,
      {
        hint: 'Use the form postgresql://<role>@<host>:5432/<database>.',
      },
    );
  }
  const params: Record<string, string> = {};
  for (const [key, value] of url.searchParams) params[key] = value;
  const host = params.host || decodeURIComponent(url.hostname).replace(/^\[|\]$/g, '') || fromEnv.host;
  if (!host) {
    throw new PasswordlessError(
      'URL_INVALID',
      `The connection URL names no host: ${redactUrl(connectionUrl)}`,
      {
        hint: 'Put the server name in the URL or set PGHOST.',
      },
    );
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, '')) || params.dbname || fromEnv.database;
  const user = decodeURIComponent(url.username) || params.user || fromEnv.user;
  return { host, port: parsePort(url.port || params.port || fromEnv.port), database, user, params };
}

function parsePort(value: string | undefined): number {
  if (value === undefined || value === '') return DEFAULT_PORT;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new PasswordlessError(
      'URL_INVALID',
      `The port ${printable(value)} is not a number between 1 and 65535.`,
      {
        hint: 'Azure Database for PostgreSQL listens on 5432 (6432 for its built-in PgBouncer).',
      },
    );
  }
  return port;
}

/**
 * A URL safe to print: any password is replaced, so a pasted token never reaches a log. The password
 * runs to the last `@` (a raw RDS token holds `/`, `?`, `&` and `:`), and `password=` parameters go too.
 *
 * @example
 * console.log(redactUrl('postgresql://app:host:5432/?Action=connect&X-Amz-Signature=abc@db/orders'));
 * // postgresql://app:***@db/orders
 * console.log(redactUrl('postgresql://db/orders?user=app&password=s3cret')); // postgresql://db/orders?user=app&password=***
 */
export function redactUrl(connectionUrl: string): string {
  const withoutParameter = connectionUrl.replace(/([?&]password=)[^&#]*/gi, '$1***');
  const start = withoutParameter.indexOf('//');
  const at = withoutParameter.lastIndexOf('@');
  if (start < 0 || at < start) return withoutParameter;
  const colon = withoutParameter.indexOf(':', start + 2);
  if (colon < 0 || colon > at) return withoutParameter;
  return `${withoutParameter.slice(0, colon + 1)}***${withoutParameter.slice(at)}`;
}

/** Whether `host` is an IP literal (TLS then has no name to check, and SNI is not sent). */
export function isIpAddress(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(':');
}
