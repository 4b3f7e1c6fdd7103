import type { ConnectionTarget, Env } from '../core/connection-url.ts';
import { appTlsOptions, type ClientTls } from './client-tls.ts';

/** What pg's `new Client(config)` accepts: an options object (pg.Pool passes its own) or a connection string. */
export type PgClientConfig = string | Record<string, unknown> | null | undefined;

/** The part of `pg.defaults` that pg falls back to after the config and the PG* variables. */
export interface PgDefaultsLike {
  host?: unknown;
  port?: unknown;
  password?: unknown;
  ssl?: unknown;
}

/** pg-connection-string's `parse`, the one pg itself uses for `connectionString`. */
export type ParseConnectionString = (connectionString: string) => object;

/** How one client of the preload's target is built, and what is filled in before its socket opens. */
export interface ClientPlan {
  /** The config for pg's own Client: the connection string's parts spread out, the token function and TLS in. */
  config: Record<string, unknown>;
  /**
   * The TLS handed to pg: a copy of the app's own options, or `false`. pg reads it only at the
   * handshake, so the library's options are added to it after the plugin host ran.
   */
  ssl: ClientTls;
  /** Whether the app, the connection string or the target named the role; if not, the plugin's user is set later. */
  userGiven: boolean;
}

/** pg's `val()`: a config value counts only when truthy, then the PG* variable, then pg.defaults. */
function pick(
  config: Record<string, unknown>,
  key: string,
  fromEnv: string | undefined,
  fallback: unknown,
): unknown {
  return config[key] || fromEnv || fallback;
}

/**
 * Decides what the preload does with one `new pg.Client(config)`: `undefined` (leave it exactly as the
 * app wrote it) when the connection has a password of its own (config, connection string, PGPASSWORD,
 * pg.defaults) or goes to another host or port than the target; otherwise the config to build it with.
 * Host, port and password are read the way pg reads them, connection string first: pg lets the URL's
 * parts override explicit options (an empty URL password would replace a password function), so the URL
 * is spread into discrete options here and `connectionString` is dropped.
 *
 * @example
 * const target = { host: 'db.example.com', port: 5432, database: 'orders', user: 'orders-api', params: {} };
 * const parse = (url: string) => ({ host: new URL(url).hostname, password: '' });
 * const token = async () => 'not a real token';
 * console.log(planClient({ connectionString: 'postgresql://db.example.com/orders' }, target, {}, {}, parse, token)?.config.user); // orders-api
 * console.log(planClient({ host: 'db.example.com', password: 'own' }, target, {}, {}, parse, token)); // undefined: its own password
 * console.log(planClient({ host: 'localhost' }, target, {}, {}, parse, token)); // undefined: another host
 */
export function planClient(
  config: PgClientConfig,
  target: ConnectionTarget,
  env: Env,
  defaults: PgDefaultsLike,
  parse: ParseConnectionString,
  password: () => Promise<string>,
): ClientPlan | undefined {
  // Exactly what pg's ConnectionParameters does: a string is parsed, and a connectionString's parts win.
  const read = (url: string) => parse(url) as Record<string, unknown>;
  const source = typeof config === 'string' ? read(config) : (config ?? {});
  const connectionString = source.connectionString;
  const merged =
    typeof connectionString === 'string' && connectionString !== ''
      ? { ...source, ...read(connectionString) }
      : source;

  if (pick(merged, 'password', env.PGPASSWORD, defaults.password)) return undefined;
  const host = String(pick(merged, 'host', env.PGHOST, defaults.host) ?? 'localhost');
  const port = Number.parseInt(String(pick(merged, 'port', env.PGPORT, defaults.port) ?? 5432), 10);
  if (host.toLowerCase() !== target.host.toLowerCase() || port !== target.port) return undefined;

  // The URL's TLS words (sslmode, sslrootcert, sslcert, sslkey) are in `ssl` already, as
  // pg-connection-string reads them. No `ssl` at all: pg would read PGSSLMODE (which the library read
  // and checked too), then pg.defaults.ssl, which is `false` unless the app put options there.
  const {
    connectionString: _url,
    password: _empty,
    ssl: ownSsl,
    sslmode: _mode,
    sslrootcert: _ca,
    ...rest
  } = merged;
  const appDefault = typeof defaults.ssl === 'object' && !env.PGSSLMODE ? defaults.ssl : undefined;
  const ssl = appTlsOptions(ownSsl !== undefined ? ownSsl : appDefault);
  const user = (merged.user as string | undefined) || target.user;
  const planned: Record<string, unknown> = { ...rest, host, port, password, ssl };
  if (user) planned.user = user;
  return { config: planned, ssl, userGiven: Boolean(user) };
}
