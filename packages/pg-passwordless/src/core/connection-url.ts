import { PasswordlessError, printable } from './errors.ts';
import { parseKeywordValue, redactKeywordValue } from './keyword-value.ts';

export type Env = Readonly<Record<string, string | undefined>>;

/** The parts of a PostgreSQL connection string that pg-passwordless needs. */
export interface ConnectionTarget {
  host: string;
  port: number;
  database: string | undefined;
  /** Undefined when neither the connection string nor PGUSER names one. */
  user: string | undefined;
  /**
   * Every other parameter, such as `sslmode`, `sslrootcert` and `application_name`: the URL's query
   * parameters, or the other keywords of a key/value string. Never a password.
   */
  params: Readonly<Record<string, string>>;
}

const DEFAULT_PORT = 5432;

/** The parameters that make up the target itself; `password` is dropped: the token replaces it. */
const TARGET_KEYWORDS = ['host', 'hostaddr', 'port', 'dbname', 'user', 'password'];

/**
 * Parses a connection string in either of libpq's forms. A string that starts with a scheme and `://`
 * is a URL: `postgres://` / `postgresql://`, also the `postgresql+driver://` form that SQLAlchemy-style
 * settings use. Anything else is libpq's key/value form, `host=... port=... dbname=... user=...
 * sslmode=...`, quoting and escapes included (libpq decides the same way: only its two URL prefixes
 * make a URI). Missing parts come from the standard PGHOST, PGPORT, PGUSER and PGDATABASE variables,
 * as libpq does. An empty string means "everything from the environment". A password in any form is
 * ignored: the token replaces it. `hostaddr` is taken when it is the host's own address or the only
 * address given; libpq connects to a different hostaddr and checks the certificate against host,
 * which pg-passwordless does not do, so that is refused.
 *
 * @example
 * console.log(parseConnectionUrl('postgresql://app@db.postgres.database.azure.com/orders', {}));
 * // { host: 'db.postgres.database.azure.com', port: 5432, database: 'orders', user: 'app', params: {} }
 * console.log(parseConnectionUrl("host=db.example.com dbname='my orders' user=app sslmode=verify-full", {}));
 * // { host: 'db.example.com', port: 5432, database: 'my orders', user: 'app', params: { sslmode: 'verify-full' } }
 * console.log(parseConnectionUrl('', { PGHOST: 'localhost', PGUSER: 'dev' }).user); // dev
 */
export function parseConnectionUrl(connectionUrl: string, env: Env = {}): ConnectionTarget {
  if (connectionUrl.trim() === '') {
    if (!env.PGHOST) {
      throw new PasswordlessError('URL_INVALID', 'No connection URL was given and PGHOST is not set.', {
        hint: 'Pass a URL such as postgresql://<role>@<server>:5432/<database>, or set PGHOST.',
      });
    }
    return completeTarget({}, {}, env, 'the empty connection URL');
  }
  return isUrlForm(connectionUrl)
    ? parseUrlForm(connectionUrl, env)
    : parseKeywordValueForm(connectionUrl, env);
}

/** A scheme and "://" first (leading blanks aside, as the URL parser allows them). */
function isUrlForm(connectionString: string): boolean {
  return /^\s*[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(connectionString);
}

function parseUrlForm(connectionUrl: string, env: Env): ConnectionTarget {
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
        hint: "Use the form postgresql://<role>@<host>:5432/<database>, or libpq's host=<host> dbname=<database> user=<role>.",
      },
    );
  }
  // fromEntries: a parameter named __proto__ stays a parameter; a repeated one keeps its last value.
  const query: Record<string, string> = Object.fromEntries(url.searchParams);
  const parts = {
    host: query.host || decodeURIComponent(url.hostname).replace(/^\[|\]$/g, ''),
    hostaddr: query.hostaddr,
    port: url.port || query.port,
    database: decodeURIComponent(url.pathname.replace(/^\//, '')) || query.dbname,
    user: decodeURIComponent(url.username) || query.user,
  };
  return completeTarget(parts, query, env, `the connection URL ${redactUrl(connectionUrl)}`);
}

function parseKeywordValueForm(text: string, env: Env): ConnectionTarget {
  const pairs: Record<string, string> = Object.fromEntries(parseKeywordValue(text));
  const parts = {
    host: pairs.host,
    hostaddr: pairs.hostaddr,
    port: pairs.port,
    database: pairs.dbname,
    user: pairs.user,
  };
  return completeTarget(parts, pairs, env, 'the key/value connection string');
}

interface TargetParts {
  host?: string | undefined;
  hostaddr?: string | undefined;
  port?: string | undefined;
  database?: string | undefined;
  user?: string | undefined;
}

/**
 * Fills what the string leaves out from the PG* variables (an empty value counts as left out, as in
 * libpq) and checks the host. `shown` names the string in messages: never a password.
 */
function completeTarget(
  parts: TargetParts,
  given: Record<string, string>,
  env: Env,
  shown: string,
): ConnectionTarget {
  const hostaddr = parts.hostaddr || undefined;
  const host = parts.host || env.PGHOST || hostaddr;
  if (!host) {
    throw new PasswordlessError('URL_INVALID', `No host: neither ${shown} nor PGHOST names one.`, {
      hint: 'Put the server name in the URL (or host=<server>) or set PGHOST.',
    });
  }
  if (hostaddr && hostaddr.toLowerCase() !== host.toLowerCase()) {
    throw new PasswordlessError(
      'URL_INVALID',
      `hostaddr ${JSON.stringify(hostaddr)} is not host ${JSON.stringify(host)}: libpq would connect to hostaddr and check the certificate against host; pg-passwordless connects to host.`,
      {
        hint: 'Leave hostaddr out and have host resolve to that address (a private DNS zone, or a line "<address> <host>" in /etc/hosts): the certificate is still checked against the name.',
      },
    );
  }
  const params = Object.fromEntries(
    Object.entries(given).filter(([keyword]) => !TARGET_KEYWORDS.includes(keyword)),
  );
  return {
    host,
    port: parsePort(parts.port || env.PGPORT),
    database: parts.database || env.PGDATABASE || undefined,
    user: parts.user || env.PGUSER || undefined,
    params,
  };
}

function parsePort(value: string | undefined): number {
  if (value === undefined || value === '') return DEFAULT_PORT;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new PasswordlessError(
      'URL_INVALID',
      `The port ${printable(value)} is not a number between 1 and 65535.`,
      {
        hint: 'PostgreSQL listens on 5432 unless told otherwise (a pooler in front of it often on 6432).',
      },
    );
  }
  return port;
}

/**
 * A connection string safe to print: any password is replaced, so a pasted token never reaches a log.
 * In a URL the password runs to the last `@` (a raw RDS token holds `/`, `?`, `&` and `:`), and
 * `password=` / `sslpassword=` parameters go too. In a key/value string every value but those of
 * libpq's known, non-secret keywords is replaced (`password=S`, `password = 'S with spaces'`,
 * `password='it\'s'`, a misspelt keyword's), and so is every stray word and unclosed quote: see
 * redactKeywordValue.
 *
 * @example
 * console.log(redactUrl('postgresql://app:host:5432/?Action=connect&X-Amz-Signature=abc@db/orders'));
 * // postgresql://app:***@db/orders
 * console.log(redactUrl('postgresql://db/orders?user=app&password=s3cret')); // postgresql://db/orders?user=app&password=***
 * console.log(redactUrl("host=db user=app password='it\\'s' dbname=orders")); // host=db user=app password=*** dbname=orders
 */
export function redactUrl(connectionUrl: string): string {
  if (!isUrlForm(connectionUrl)) return redactKeywordValue(connectionUrl);
  const withoutParameter = connectionUrl.replace(/([?&](?:ssl)?password=)[^&#]*/gi, '$1***');
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
