import { parseConnectionUrl } from '../core/connection-url.ts';
import { PasswordlessError } from '../core/errors.ts';
import type { ConnectionParams } from '../core/plugin.ts';
import { setDatabaseConnectionParams } from '../core/plugin-host.ts';
import { ensureResolved, type ResolvedSettings, resolveSettings, type Settings } from '../core/settings.ts';
import type { DriverTls } from '../core/tls.ts';
import { loadPeer } from '../plugins/load-peer.ts';

/** Connections log in again after this long, so a pool never outlives the identity it logged in with by much. */
export const DEFAULT_MAX_LIFETIME_SECONDS = 30 * 60;

/** The node-postgres options pg-passwordless sets: spread them into `new pg.Pool({...})` or `new pg.Client({...})`. */
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
}

/** The part of a `pg.Pool` that pg-passwordless touches (pg stays an optional peer). */
export interface PgPoolLike {
  connect(): Promise<unknown>;
  connect(
    callback: (error: Error | undefined, client?: unknown, release?: (error?: unknown) => void) => void,
  ): void;
  query(text: string, values?: unknown[]): Promise<{ rows: Array<Record<string, unknown>> }>;
  end(): Promise<void>;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/**
 * Resolves a password-less URL into node-postgres options: discrete host/port/database/user (so that
 * `sslmode` in the URL cannot silently replace the verified TLS settings), the token function and TLS.
 *
 * @example
 * const config = await pgConfig('postgresql://orders-api@srv.postgres.database.azure.com/orders', { azure: { enabled: true } });
 * const pool = new pg.Pool({ ...config, max: 20 });
 */
export async function pgConfig(
  connectionUrl: string,
  settings?: Settings | ResolvedSettings,
): Promise<PgPasswordlessConfig> {
  const resolved = ensureResolved(settings);
  const params = await setDatabaseConnectionParams(connectionUrl, resolved);
  return toPgConfig(connectionUrl, params, resolved);
}

/** Translates driver-neutral connection params for node-postgres. */
export function toPgConfig(
  connectionUrl: string,
  params: ConnectionParams,
  settings: ResolvedSettings,
): PgPasswordlessConfig {
  const target = parseConnectionUrl(connectionUrl, settings.env);
  const config: PgPasswordlessConfig = {
    host: target.host,
    port: target.port,
    maxLifetimeSeconds: DEFAULT_MAX_LIFETIME_SECONDS,
  };
  if (target.database) config.database = target.database;
  const user = params.user ?? target.user;
  if (user) config.user = user;
  if (params.password) config.password = params.password;
  if (params.ssl !== undefined) config.ssl = params.ssl;
  if (target.params.application_name) config.application_name = target.params.application_name;
  // Keep the token function out of JSON.stringify / console.log of the config.
  if (config.password)
    Object.defineProperty(config, 'password', { enumerable: false, value: config.password });
  return config;
}

export interface CreatePoolOptions {
  settings?: Settings;
  /** Extra pg.Pool options (max, idleTimeoutMillis, maxLifetimeSeconds, ...). */
  pool?: Record<string, unknown>;
  /** The `pg` module to use; imported when omitted. */
  pg?: { Pool: new (config: object) => unknown };
}

/**
 * Runs the plugin host and returns a `pg.Pool` whose connections log in with tokens. A login that the
 * server rejects for a credential reason drops the cached token and is retried once.
 *
 * @example
 * import { createPool } from 'pg-passwordless/pg';
 * const pool = await createPool(process.env.DATABASE_URL!);
 * const { rows } = await pool.query('select current_user');
 */
export async function createPool(
  connectionUrl: string,
  options: CreatePoolOptions = {},
): Promise<PgPoolLike> {
  const settings = resolveSettings(options.settings);
  const pg =
    options.pg ??
    (await loadPeer<{ default: { Pool: new (config: object) => unknown } }>('pg', 'pg-passwordless/pg'))
      .default;
  const params = await setDatabaseConnectionParams(connectionUrl, settings);
  const config = toPgConfig(connectionUrl, params, settings);
  const pool = new pg.Pool({ ...config, password: config.password, ...options.pool }) as PgPoolLike;
  return retryRejectedLogin(pool, params);
}

/** SQLSTATEs of a refused login: invalid_authorization_specification, invalid_password. */
const LOGIN_REJECTED = new Set(['28000', '28P01']);

function isLoginRejection(error: unknown): boolean {
  return LOGIN_REJECTED.has((error as { code?: string } | null)?.code ?? '');
}

/**
 * Makes a pool retry a login once after the server rejected the token (a token revoked or expired
 * early): the cached token is dropped first, so the retry logs in with a new one.
 *
 * @example
 * const pool = retryRejectedLogin(new pg.Pool({ ...config }), params);
 */
export function retryRejectedLogin<P extends PgPoolLike>(pool: P, params: ConnectionParams): P {
  if (!params.onLoginRejected) return pool;
  const connectOnce = pool.connect.bind(pool) as () => Promise<unknown>;
  const connectWithRetry = async () => {
    try {
      return await connectOnce();
    } catch (error) {
      if (!isLoginRejection(error)) throw error;
      params.onLoginRejected?.();
    }
    try {
      return await connectOnce();
    } catch (error) {
      if (!isLoginRejection(error)) throw error;
      throw new PasswordlessError(
        'TOKEN_REJECTED',
        `The server refused a fresh token too: ${(error as Error).message}`,
        {
          cause: error,
          hint:
            'The token is valid but does not fit the role: check that the role name equals the identity (case-sensitive) and was ' +
            "created for it (Azure: select * from pgaadauth_create_principal('<identity name>', false, false)).",
        },
      );
    }
  };
  // pg-pool's own query() calls this.connect(callback), so both forms go through the retry.
  pool.connect = ((
    callback?: (error: Error | undefined, client?: unknown, release?: (error?: unknown) => void) => void,
  ) => {
    if (!callback) return connectWithRetry();
    connectWithRetry().then(
      (client) => callback(undefined, client, (client as { release: (error?: unknown) => void }).release),
      (error: Error) => callback(error, undefined, () => {}),
    );
    return undefined;
  }) as P['connect'];
  return pool;
}
