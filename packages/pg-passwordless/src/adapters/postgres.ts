import { connect } from 'node:net';
import { Duplex } from 'node:stream';
import type { ConnectionTarget } from '../core/connection-url.ts';
import type { ConnectionParams, TokenHandle } from '../core/contract.ts';
import { consoleLogger, type Logger } from '../core/logger.ts';
import { DEFAULT_LIFETIME_SPREAD, lifetimeUnderCap } from '../core/session-lifetime.ts';
import type { ResolvedSettings } from '../core/settings.ts';
import type { DriverTls } from '../core/tls.ts';
import { resolveConnection, type Settings } from '../index.ts';
import { DEFAULT_MAX_LIFETIME_SECONDS } from './pg.ts';
import { connectionLifetimeMs } from './pg-pool-guard.ts';

/** Startup parameters postgres.js sends in `connection` (pg takes them as top-level options). */
type StartupParameters = Record<string, string | number | boolean>;

/**
 * The postgres.js options pg-passwordless sets: spread them into `postgres({...})`. `token` (the handle
 * on the token cache) is not enumerable, so a spread leaves it behind; read it from the object itself.
 */
export interface PostgresPasswordlessOptions {
  host: string;
  port: number;
  database?: string;
  username?: string;
  /** Awaited by postgres.js on every authentication request, so once per new connection. */
  pass?: () => Promise<string>;
  /** Verified TLS as a `tls.connect` object (postgres.js's `'require'` and `'prefer'` verify nothing). */
  ssl?: DriverTls;
  /** Startup parameters: `application_name` and the like, from the URL and the plugins. */
  connection?: StartupParameters;
  /**
   * postgres.js's custom-socket hook, used as a pre-connect hook: the token is ready before the socket
   * opens. Replace it only with one that awaits `token.getToken()` first (see `postgresOptions`).
   */
  socket?: (options: { host: string[]; port: number[] }) => Promise<Duplex>;
  /** Other postgres.js options a plugin returned (`max`, `idle_timeout`, ...). */
  [driverOption: string]: unknown;
  readonly token?: TokenHandle;
}

/** Keys a plugin may return that are postgres.js options of the same name and meaning. */
const POSTGRES_JS_OPTIONS = new Set([
  'max',
  'idle_timeout',
  'connect_timeout',
  'max_lifetime',
  'keep_alive',
  'prepare',
  'fetch_types',
  'target_session_attrs',
  'sslnegotiation',
  'onnotice',
  'onparameter',
  'types',
  'transform',
]);

/**
 * Keys a plugin may return (written for pg, which takes them top-level) that are server startup
 * parameters: postgres.js sends them from `connection`. Anything else would reach the server as an
 * unknown parameter and fail the login, so it is left out with a warning instead.
 */
const STARTUP_PARAMETERS = new Set([
  'application_name',
  'fallback_application_name',
  'options',
  'search_path',
  'statement_timeout',
  'lock_timeout',
  'idle_in_transaction_session_timeout',
  'idle_session_timeout',
  'default_transaction_isolation',
  'default_transaction_read_only',
  'TimeZone',
]);

/**
 * Resolves a password-less URL into postgres.js options: discrete host/port/database/username (so that
 * a `sslmode` in the URL cannot replace the verified TLS), the token as `pass`, TLS as a verifying
 * `tls.connect` object, the plugins' startup parameters in `connection`, and a pre-connect hook.
 *
 * Why the hook: postgres.js awaits `pass` inside a message handler whose promise nobody handles, so a
 * `pass` that throws (identity endpoint down) becomes an unhandled rejection and the query only fails
 * at `connect_timeout` (checked with postgres 3.4.9). The documented `socket` option runs before the
 * socket opens and its error reaches the waiting queries; here it fetches the token first (within the
 * token cache's budget, 10 s by default), so `pass` then answers from the cache and a failure is the
 * cache's typed error (`TOKEN_ENDPOINT_FAILED`, ...). postgres.js keeps its own lifetime per connection
 * (`max_lifetime`, random between 30 and 60 minutes) unless you set one, or the server ends sessions
 * after a while (Aurora DSQL: 60 minutes): then `max_lifetime` gives each connection the lifetime a
 * `createPool` connection gets (30 minutes ±10%, kept under the cap).
 *
 * Not handled here: postgres.js says nothing to the app about a refused login, so a token the server
 * refuses is not dropped and retried as `createPool` from 'pg-passwordless/pg' does; on a 28P01 error
 * call `options.token?.invalidate()` if you want the next connection to fetch anew.
 *
 * @example
 * import postgres from 'postgres';
 * import { postgresOptions } from 'pg-passwordless/postgres';
 *
 * // DATABASE_URL=postgresql://orders-api@myserver.postgres.database.azure.com/orders
 * const options = await postgresOptions(process.env.DATABASE_URL ?? '', { azure: { enabled: true } });
 * const sql = postgres({ ...options, max: 20 });
 * const [row] = await sql`select current_user as role`;
 * console.log(row?.role, options.token?.stats().fetches); // orders-api 1
 * await sql.end();
 */
export async function postgresOptions(
  connectionUrl: string,
  settings?: Settings | ResolvedSettings,
): Promise<PostgresPasswordlessOptions> {
  const { target, params, settings: resolved, cloud } = await resolveConnection(connectionUrl, settings);
  const options = toPostgresOptions(target, params, resolved.logger);
  const capSeconds = cloud?.identity.sessionCapSeconds;
  // postgres.js's own lifetimes reach 60 minutes: under a server's session cap they would meet it.
  if (capSeconds !== undefined && options.max_lifetime === undefined) {
    const seconds = lifetimeUnderCap(DEFAULT_MAX_LIFETIME_SECONDS, capSeconds, DEFAULT_LIFETIME_SPREAD);
    // A function, as postgres.js's own default is: it is called once per connection, for that
    // connection's lifetime in seconds (src/connection.js's timer(), checked with postgres 3.4.9).
    options.max_lifetime = () => connectionLifetimeMs(seconds, DEFAULT_LIFETIME_SPREAD, Math.random) / 1000;
  }
  return options;
}

/**
 * Translates driver-neutral connection params for postgres.js. The URL gives the target and its
 * `application_name`; plugin keys come after and win, as in the reference system. Keys postgres.js
 * does not understand are left out with a warning on `logger`.
 *
 * @example
 * import { parseConnectionUrl } from 'pg-passwordless';
 * import { toPostgresOptions } from 'pg-passwordless/postgres';
 *
 * const target = parseConnectionUrl('postgresql://app@db.example.com/orders?application_name=orders-api');
 * const options = toPostgresOptions(target, { statement_timeout: 5000 });
 * console.log(options.host, options.username, options.connection);
 * // db.example.com app { application_name: 'orders-api', statement_timeout: 5000 }
 */
export function toPostgresOptions(
  target: ConnectionTarget,
  params: ConnectionParams,
  logger: Logger = consoleLogger,
): PostgresPasswordlessOptions {
  const { token, user, password, ssl, connection: pluginConnection, ...driverOptions } = params;
  const options: PostgresPasswordlessOptions = { host: target.host, port: target.port };
  if (target.database) options.database = target.database;
  const connection: StartupParameters = {};
  if (target.params.application_name) connection.application_name = target.params.application_name;
  const ignored: string[] = [];
  for (const [key, value] of Object.entries(driverOptions)) {
    if (value === undefined) continue;
    if (POSTGRES_JS_OPTIONS.has(key)) options[key] = value;
    else if (STARTUP_PARAMETERS.has(key) && isScalar(value)) connection[key] = value;
    else ignored.push(key);
  }
  if (typeof pluginConnection === 'object' && pluginConnection !== null) {
    Object.assign(connection, pluginConnection);
  }
  if (ignored.length > 0) {
    logger.warn(`postgres.js has no option for ${ignored.map((key) => `"${key}"`).join(', ')}; left out.`);
  }
  if (Object.keys(connection).length > 0) options.connection = connection;
  const role = user ?? target.user;
  if (role) options.username = role;
  // A function survives a spread and is dropped by JSON.stringify; it holds no token itself.
  if (password) options.pass = password;
  if (ssl !== undefined) options.ssl = ssl;
  if (token) {
    options.socket = tokenFirstSocket(token);
    Object.defineProperty(options, 'token', { value: token, enumerable: false });
  }
  return options;
}

function isScalar(value: unknown): value is string | number | boolean {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}

/**
 * The socket postgres.js would open itself (`net.Socket` to the first host), opened only once a token
 * is at hand. postgres.js reads `socket.host` to send SNI, and Node's TLS verifies the certificate
 * against the host the socket connected to, as without the hook.
 */
function tokenFirstSocket(
  token: TokenHandle,
): (options: { host: string[]; port: number[] }) => Promise<Duplex> {
  return async ({ host: [host = 'localhost'], port: [port = 5432] }) => {
    try {
      await token.getToken();
    } catch (error) {
      return failedSocket(error);
    }
    // A host that is a folder names a Unix socket, as in postgres.js and libpq.
    if (host.startsWith('/')) return connect({ path: `${host}/.s.PGSQL.${port}` });
    return Object.assign(connect({ host, port }), { host });
  };
}

/**
 * A socket that fails with `error` at postgres.js's first write (the SSLRequest, the TLS hello or the
 * startup message): its 'error' rejects the queries waiting for this connection with the token cache's
 * typed error, and its 'close' gives the connection back to the pool, so the next query tries again.
 * Checked with postgres 3.4.9: throwing from the hook instead leaves the connection in the "connecting"
 * queue for good, and failing before that first write has gone out leaves a stale write timer that
 * stalls the connection's next login.
 */
function failedSocket(error: unknown): Duplex {
  return new Duplex({
    read() {},
    write(_chunk, _encoding, done) {
      done(error as Error);
    },
  });
}
