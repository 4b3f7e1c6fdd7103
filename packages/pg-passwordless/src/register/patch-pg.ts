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

type ConnectCallback = (error?: Error | null) => void;

/** The part of a pg Client the preload touches (pg stays an optional peer, never imported here). */
interface PgClientLike {
  connect(callback?: ConnectCallback): Promise<unknown> | undefined;
  user?: unknown;
  connectionParameters?: { user?: unknown };
  connection?: { stream?: { destroyed?: boolean } };
}
type PgClientClass = new (config?: PgClientConfig) => PgClientLike;
type PgPoolClass = new (options?: object, Client?: PgClientClass) => object;

/** The part of the `pg` module the preload replaces: its Client, the Pool bound to it, and its defaults. */
export interface PgModuleLike {
  Client: PgClientClass;
  Pool: PgPoolClass;
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
 * A client for the target waits for the plugin host and the token before its socket opens, gets the
 * library's verified TLS options (the app's own `ssl.ca` is kept when the library names no CA), and
 * the plugin's role when the app named none. Returns false when this pg was patched already.
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
  if (typeof pg.Client !== 'function' || typeof BasePool !== 'function' || BasePool === Function.prototype) {
    throw new PasswordlessError(
      'CONFIG_INVALID',
      'This `pg` has no Client and pg-pool based Pool to patch.',
      {
        hint: 'pg-passwordless/register supports pg 8.7.3 and later: npm install pg@8',
      },
    );
  }
  const password = async (): Promise<string> => (await preload.connection()).password();
  const Original = pg.Client;

  // Named Client, so that logs and `inspect` output of the app's clients read as before.
  class Client extends Original {
    #plan: ClientPlan | undefined;

    constructor(config?: PgClientConfig) {
      const plan = planClient(config, preload.target, preload.env, pg.defaults ?? {}, parse, password);
      super(plan ? plan.config : config);
      this.#plan = plan;
    }

    override connect(callback?: ConnectCallback): Promise<unknown> | undefined {
      const plan = this.#plan;
      if (!plan) return super.connect(callback);
      const ready = prepare(this, plan, preload);
      if (callback) {
        ready.then(() => super.connect(callback), callback);
        return undefined;
      }
      return ready.then(() => super.connect());
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
  // pg spreads this object into tls.connect at the handshake. The library's keys win (verification on);
  // `false` (no TLS, allowed only in code for a loopback emulator) cannot come from the environment.
  if (plan.appCa !== undefined) plan.ssl.ca = plan.appCa;
  Object.assign(plan.ssl, params.ssl || {});
  if (!plan.userGiven && params.user) {
    // No user in the app's config, the URL or PGUSER: the plugin read the role from the token.
    client.user = params.user;
    if (client.connectionParameters) client.connectionParameters.user = params.user;
  }
  // The token before the socket: the wait on the identity endpoint never runs on the server's
  // authentication clock, and a failure is the token cache's typed error. pg asks for it again at
  // login (the password function), and gets it from the cache.
  await params.token?.getToken();
  // pg-pool's connectionTimeoutMillis destroys the socket of a client that took too long; opening it
  // now would hand the pool a connection it already gave up on.
  if (client.connection?.stream?.destroyed) {
    throw new Error('Connection terminated while pg-passwordless waited for the token');
  }
}
