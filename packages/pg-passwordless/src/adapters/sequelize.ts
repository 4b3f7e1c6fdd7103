import type { TokenHandle } from '../core/contract.ts';
import { ensureResolved, type ResolvedSettings } from '../core/settings.ts';
import { resolveConnection, type Settings } from '../index.ts';

/**
 * The part of the config object Sequelize hands to `beforeConnect` that pg-passwordless reads and
 * sets. Sequelize's postgres dialect then picks `user`/`password`/`host`/`database`/`port` from it,
 * and `ssl`, `application_name`, `options`, ... from `dialectOptions`, into `new pg.Client`.
 */
export interface SequelizeConnectConfig {
  host?: string;
  port?: number | string;
  username?: string;
  database?: string;
  password?: unknown;
  dialectOptions?: Record<string, unknown>;
}

/** The part of a Sequelize instance that `usePasswordless` touches (sequelize stays an optional peer). */
export interface SequelizeLike {
  addHook(
    hookType: 'beforeConnect',
    name: string,
    fn: (config: SequelizeConnectConfig) => Promise<void>,
  ): unknown;
}

/** A `beforeConnect` hook, with the token handles of the servers it has connected to so far. */
export interface PasswordlessHook {
  (config: SequelizeConnectConfig): Promise<void>;
  /** One handle per distinct server (the primary, each read replica), for metrics and events. */
  tokens(): TokenHandle[];
}

/**
 * A Sequelize `beforeConnect` hook that logs every new connection in with a token. Give it to the
 * constructor (`hooks: { beforeConnect: passwordlessHook() }`) or use {@link usePasswordless}.
 *
 * Sequelize 6 calls the hook with the config of the server it is about to connect to: the main
 * config, or, with `replication`, the write config or one of the read configs (each built once, when
 * the pools are created). So each server gets its own resolution, from its own host, port, user and
 * database, and its own token function (an RDS token is signed for one host). The config gets the
 * token *function*, not the token: pg calls it for the connection, and no token string is left in
 * `sequelize.config` for a log line to print. The token is fetched first, before the socket opens.
 *
 * @example
 * import { Sequelize } from 'sequelize';
 * import { passwordlessHook } from 'pg-passwordless/sequelize';
 *
 * const sequelize = new Sequelize(process.env.DATABASE_URL ?? '', {
 *   dialect: 'postgres',
 *   logging: false,
 *   hooks: { beforeConnect: passwordlessHook() },
 * });
 * const [rows] = await sequelize.query('select current_user as role');
 * console.log(rows);
 * await sequelize.close();
 */
export function passwordlessHook(settings?: Settings | ResolvedSettings): PasswordlessHook {
  const resolved = ensureResolved(settings);
  // Keyed by the config object itself: the hook rewrites `username` (a plugin may name the role), so a
  // key made of the config's fields would change after the first connection.
  const connections = new WeakMap<object, ReturnType<typeof resolveConnection>>();
  const handles = new Set<TokenHandle>();
  const hook = async (config: SequelizeConnectConfig): Promise<void> => {
    // Off means off, as setDatabaseConnectionParams: the config is left as the user wrote it.
    if (!resolved.enabled) return;
    let pending = connections.get(config);
    if (!pending) {
      pending = resolveConnection(connectionUrlOf(config), resolved);
      connections.set(config, pending);
      // A failed resolution (an unreachable SDK peer, a bad setting) is tried again next connection.
      pending.catch(() => connections.delete(config));
    }
    const { params } = await pending;
    const { token, user, password, ssl, ...driverOptions } = params;
    if (token) handles.add(token);
    if (user) config.username = user;
    if (password) {
      // Before the socket opens: the wait on the identity endpoint never runs on the server's login clock.
      await (token ? token.getToken() : password());
      config.password = password;
    }
    config.dialectOptions = { ...config.dialectOptions, ...driverOptions };
    if (ssl !== undefined) config.dialectOptions.ssl = ssl;
  };
  return Object.assign(hook, { tokens: () => [...handles] });
}

/**
 * Adds {@link passwordlessHook} to a Sequelize instance, under the name `pg-passwordless` (so that
 * `sequelize.removeHook('beforeConnect', 'pg-passwordless')` takes it off again). Read replicas
 * (`replication: { read: [...], write }`) each log in with their own token.
 *
 * @example
 * import { Sequelize } from 'sequelize';
 * import { usePasswordless } from 'pg-passwordless/sequelize';
 *
 * const sequelize = new Sequelize(process.env.DATABASE_URL ?? '', { dialect: 'postgres', logging: false });
 * const hook = usePasswordless(sequelize);
 * await sequelize.authenticate();
 * console.log('connected; token fetches:', hook.tokens()[0]?.stats().fetches);
 * await sequelize.close();
 */
export function usePasswordless(
  sequelize: SequelizeLike,
  settings?: Settings | ResolvedSettings,
): PasswordlessHook {
  const hook = passwordlessHook(settings);
  sequelize.addHook('beforeConnect', 'pg-passwordless', hook);
  return hook;
}

/** The URL the plugin host parses, rebuilt from the discrete fields Sequelize keeps (no password). */
function connectionUrlOf(config: SequelizeConnectConfig): string {
  const host = config.host ?? 'localhost';
  const url = new URL(`postgresql://${host.includes(':') ? `[${host}]` : host}`);
  if (config.port !== undefined && config.port !== '') url.port = String(config.port);
  if (config.username) url.username = encodeURIComponent(config.username);
  if (config.database) url.pathname = `/${encodeURIComponent(config.database)}`;
  return url.href;
}
