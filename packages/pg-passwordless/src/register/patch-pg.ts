import type { ConnectionTarget, Env } from '../core/connection-url.ts';
import type { ConnectionParams } from '../core/contract.ts';
import { PasswordlessError } from '../core/errors.ts';
import {
  type ClientPlan,
  type ParseConnectionString,
  type PgClientConfig,
  type PgDefaultsLike,
  planClient,
} from './client-config.ts';
import { completeTls } from './client-tls.ts';
import { deferSocketOpen, type PgConnectionLike } from './deferred-socket.ts';

/** The part of a pg Client the preload touches (pg stays an optional peer, never imported here). */
interface PgClientLike {
  user?: unknown;
  connectionParameters?: { user?: unknown };
  connection: PgConnectionLike;
}
type PgClientClass = new (config?: PgClientConfig) => PgClientLike;
type PgPoolClass = new (options?: object, Client?: PgClientClass) => object;

/** The part of the `pg` module the preload replaces (Client, and the Pool bound to it) and reads. */
export interface PgModuleLike {
  Client: PgClientClass;
  Pool: PgPoolClass;
  Connection?: { prototype: Partial<PgConnectionLike> };
  defaults?: PgDefaultsLike;
}

/** What the preload connects to, and how it gets the plugin host's answer. */
export interface PreloadTarget {
  /** The host and port whose password-less connections get the token (DATABASE_URL, else PGHOST/PGPORT). */
  target: ConnectionTarget;
  /** The environment pg reads too (PGHOST, PGPORT, PGPASSWORD). */
  env: Env;
  /** Runs the plugin host the first time it is called; the same params after. */
  connection(): Promise<ConnectionParams & { password: () => Promise<string> }>;
}

const PATCHED = Symbol.for('pg-passwordless/register');

/**
 * Replaces `pg.Client` with a subclass that gives password-less connections to the target the token,
 * and `pg.Pool` with a pool bound to it (pg's own Pool passes its Client to pg-pool in a closure, so
 * replacing `pg.Client` alone would not reach pools). Everything else is pg's own behaviour: a client
 * with a password of its own, or for another host or port, is built from the app's config untouched.
 * A client for the target waits for the plugin host and the token before its socket opens (and only
 * that waits: to the app it is pg's Client), keeps the app's own TLS options with the library's
 * verification added (see completeTls), and gets the plugin's role when the app named none. Returns
 * false when this pg was patched already.
 *
 * @example
 * const pg = (await import('pg')).default;
 * const { parse } = await import('pg-connection-string');
 * const { parseConnectionUrl, resolveConnection } = await import('pg-passwordless');
 *
 * const url = process.env.DATABASE_URL ?? '';
 * const connection = async () => {
 *   const { params } = await resolveConnection(url);
 *   if (!params.password) throw new Error('no cloud plugin is enabled');
 *   return { ...params, password: params.password };
 * };
 * patchPg(pg, { target: parseConnectionUrl(url, process.env), env: process.env, connection }, parse);
 * const pool = new pg.Pool({ connectionString: url }); // no password: the target's token is used
 * console.log((await pool.query('select current_user')).rows[0]); // { current_user: 'orders-api' }
 * await pool.end();
 */
export function patchPg(module: object, preload: PreloadTarget, parse: ParseConnectionString): boolean {
  // Typed loosely: the app's pg (any 8.x, typed or not) is checked here at run time instead.
  const pg = module as PgModuleLike;
  if ((module as Record<symbol, unknown>)[PATCHED]) return false;
  const BasePool = Object.getPrototypeOf(pg.Pool) as PgPoolClass;
  const patchable =
    typeof pg.Client === 'function' &&
    typeof BasePool === 'function' &&
    BasePool !== Function.prototype &&
    typeof pg.Connection?.prototype.connect === 'function';
  if (!patchable) {
    throw new PasswordlessError(
      'CONFIG_INVALID',
      'This `pg` has no Client, Connection and pg-pool based Pool to patch.',
      {
        hint: 'pg-passwordless/register supports pg 8.7.3 and later: npm install pg@8',
      },
    );
  }
  const password = async (): Promise<string> => (await preload.connection()).password();
  const Original = pg.Client;

  // Named Client, so that logs and `inspect` output of the app's clients read as before. Only the
  // socket's opening waits: deferSocketOpen wraps this client's Connection#connect(port, host), the one
  // call that opens the socket in pg 8.7.3 and every 8.x since, and leaves connect(), its promise type,
  // connectionTimeoutMillis, end(), the query queue and the events to pg's own Client code. Overriding
  // Client#connect, or pg's internal Client#_connect, would mean rewriting that code (the timer, the
  // 'end' handling, the promise), and each difference from the app's pg version would show to the app.
  class Client extends Original {
    constructor(config?: PgClientConfig) {
      const plan = planClient(config, preload.target, preload.env, pg.defaults ?? {}, parse, password);
      super(plan ? plan.config : config);
      if (plan) deferSocketOpen(this.connection, () => prepare(this, plan, preload));
    }
  }

  class BoundPool extends BasePool {
    constructor(options?: object) {
      super(options, Client);
    }
  }

  pg.Client = Client;
  pg.Pool = BoundPool;
  Object.defineProperty(pg, PATCHED, { value: true });
  return true;
}

/** What a target client needs before its socket opens: the plugin host's TLS, role and a token. */
async function prepare(client: PgClientLike, plan: ClientPlan, preload: PreloadTarget): Promise<void> {
  const params = await preload.connection();
  completeTls(plan.ssl, params.ssl, `${preload.target.host}:${preload.target.port}`);
  if (!plan.userGiven && params.user) {
    // No user in the app's config, the URL or PGUSER: the plugin read the role from the token.
    client.user = params.user;
    if (client.connectionParameters) client.connectionParameters.user = params.user;
  }
  // The token before the socket: the wait on the identity endpoint never runs on the server's
  // authentication clock, and a failure is the token cache's typed error. pg asks for it again at
  // login (the password function), and gets it from the cache.
  await params.token?.getToken();
}
