import type { ConnectionTarget } from '../core/connection-url.ts';
import type { ConnectionParams, TokenHandle } from '../core/contract.ts';
import { loadPeer } from '../core/load-peer.ts';
import type { Logger } from '../core/logger.ts';
import { DEFAULT_LIFETIME_SPREAD, lifetimeUnderCap } from '../core/session-lifetime.ts';
import type { ResolvedSettings } from '../core/settings.ts';
import type { DriverTls } from '../core/tls.ts';
import { resolveConnection, type Settings } from '../index.ts';
import { guardPool, type PgPoolLike } from './pg-pool-guard.ts';

export { connectionLifetimeMs, guardPool, type PgPoolLike, type PoolGuardOptions } from './pg-pool-guard.ts';

/** Connections log in again after about this long, so a pool never outlives the identity it logged in with by much. */
export const DEFAULT_MAX_LIFETIME_SECONDS = 30 * 60;

/**
 * The node-postgres options pg-passwordless sets: spread them into `new pg.Pool({...})` or
 * `new pg.Client({...})`. Every key a plugin returned is here too (`application_name`, ...), as the
 * reference system forwards plugin results to the driver. `token` (the handle on the token cache)
 * is not enumerable, so a spread leaves it behind; read it from the object itself.
 */
export interface PgPasswordlessConfig {
  host: string;
  port: number;
  database?: string;
  user?: string;
  /** Called by pg for every new physical connection; returns the current token. */
  password?: () => Promise<string>;
  ssl?: DriverTls;
  application_name?: string;
  maxLifetimeSeconds: number;
  readonly token?: TokenHandle;
  [driverOption: string]: unknown;
}

/**
 * Resolves a password-less URL into node-postgres options: discrete host/port/database/user (so that
 * `sslmode` in the URL cannot silently replace the verified TLS settings), the token function, TLS,
 * and every other key the plugins returned. Where the server ends sessions after a while (Aurora DSQL:
 * 60 minutes), `maxLifetimeSeconds` stays under that cap.
 *
 * @example
 * import pg from 'pg';
 * import { pgConfig } from 'pg-passwordless/pg';
 *
 * // DATABASE_URL=postgresql://orders-api@myserver.postgres.database.azure.com/orders
 * const pool = new pg.Pool({ ...(await pgConfig(process.env.DATABASE_URL ?? '', { azure: { enabled: true } })), max: 20 });
 * console.log((await pool.query('select current_user')).rows[0]);
 * await pool.end();
 */
export async function pgConfig(
  connectionUrl: string,
  settings?: Settings | ResolvedSettings,
): Promise<PgPasswordlessConfig> {
  return (await resolvePgConfig(connectionUrl, settings)).config;
}

/** The pg options, the server's session cap (when its cloud has one) and the logger, resolved once. */
async function resolvePgConfig(
  connectionUrl: string,
  settings: Settings | ResolvedSettings | undefined,
): Promise<{ config: PgPasswordlessConfig; sessionCapSeconds: number | undefined; logger: Logger }> {
  const { target, params, cloud, settings: resolved } = await resolveConnection(connectionUrl, settings);
  const config = toPgConfig(target, params);
  const sessionCapSeconds = cloud?.identity.sessionCapSeconds;
  config.maxLifetimeSeconds = lifetimeUnderCap(
    config.maxLifetimeSeconds,
    sessionCapSeconds,
    DEFAULT_LIFETIME_SPREAD,
  );
  return { config, sessionCapSeconds, logger: resolved.logger };
}

/**
 * Translates driver-neutral connection params for node-postgres. The URL gives the target and its
 * `application_name`; plugin keys come after and win, as in the reference system.
 *
 * @example
 * import { parseConnectionUrl } from 'pg-passwordless';
 * import { toPgConfig } from 'pg-passwordless/pg';
 *
 * const config = toPgConfig(parseConnectionUrl('postgresql://app@db.example.com/orders'), { application_name: 'orders-api' });
 * console.log(config.host, config.user, config.application_name); // db.example.com app orders-api
 */
export function toPgConfig(target: ConnectionTarget, params: ConnectionParams): PgPasswordlessConfig {
  const { token, user, password, ssl, ...driverOptions } = params;
  const config: PgPasswordlessConfig = {
    host: target.host,
    port: target.port,
    maxLifetimeSeconds: DEFAULT_MAX_LIFETIME_SECONDS,
  };
  if (target.database) config.database = target.database;
  if (target.params.application_name) config.application_name = target.params.application_name;
  Object.assign(config, driverOptions);
  const role = user ?? target.user;
  if (role) config.user = role;
  // A function survives a spread and is dropped by JSON.stringify; it holds no token itself.
  if (password) config.password = password;
  if (ssl !== undefined) config.ssl = ssl;
  if (token) Object.defineProperty(config, 'token', { value: token, enumerable: false });
  return config;
}

/** The pool `createPool` returns: the driver's own pool type, with the token handle for metrics. */
export type PasswordlessPool<P> = P & { readonly token?: TokenHandle };

export interface CreatePoolOptions<P extends PgPoolLike> {
  settings?: Settings;
  /** Extra pg.Pool options (max, idleTimeoutMillis, maxLifetimeSeconds, ...). */
  pool?: Record<string, unknown>;
  /** The `pg` module to use (its Pool type is the return type); imported when omitted. */
  pg?: { Pool: new (config: object) => P };
  /** Each connection's lifetime is spread this much around maxLifetimeSeconds (default ±10%). */
  lifetimeSpread?: number;
}

/**
 * Runs the plugin host and returns a `pg.Pool` whose connections log in with tokens. A login that the
 * server refuses drops the cached token and is retried once with a new one; each connection gets its
 * own lifetime around `maxLifetimeSeconds` (30 minutes by default, ±10%), kept under the server's
 * session cap where its cloud has one (Aurora DSQL: 60 minutes; a longer lifetime asked for is
 * shortened, with a warning). `pool.token` is the handle on the token cache (events, stats, expiry)
 * for the app to export.
 *
 * @example
 * import { createPool } from 'pg-passwordless/pg';
 *
 * const pool = await createPool(process.env.DATABASE_URL ?? '');
 * const { rows } = await pool.query('select current_user');
 * console.log(rows[0], pool.token?.stats().fetches);
 * await pool.end();
 */
export async function createPool<P extends PgPoolLike = PgPoolLike>(
  connectionUrl: string,
  options: CreatePoolOptions<P> = {},
): Promise<PasswordlessPool<P>> {
  const pg =
    options.pg ??
    (await loadPeer<{ default: { Pool: new (config: object) => P } }>('pg', 'pg-passwordless/pg')).default;
  const { config, sessionCapSeconds, logger } = await resolvePgConfig(connectionUrl, options.settings);
  const poolOptions = { ...config, ...options.pool };
  const lifetimeSpread = options.lifetimeSpread ?? DEFAULT_LIFETIME_SPREAD;
  const asked = Number(poolOptions.maxLifetimeSeconds ?? 0);
  const maxLifetimeSeconds = lifetimeUnderCap(asked, sessionCapSeconds, lifetimeSpread);
  if (maxLifetimeSeconds !== asked) {
    logger.warn(
      `maxLifetimeSeconds ${asked} (±${lifetimeSpread * 100}%) would outlive the server's session cap of ${sessionCapSeconds} s: connections live about ${maxLifetimeSeconds} s instead.`,
    );
  }
  // pg-pool's own lifetime is one fixed number for every connection; the guard spreads it instead.
  const pool = guardPool(new pg.Pool({ ...poolOptions, maxLifetimeSeconds: 0 }), {
    token: config.token,
    maxLifetimeSeconds,
    lifetimeSpread,
  });
  if (config.token) Object.defineProperty(pool, 'token', { value: config.token, enumerable: false });
  return pool as PasswordlessPool<P>;
}
