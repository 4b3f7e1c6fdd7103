import { PasswordlessError } from '../core/errors.ts';
import { createRefusedLoginPolicy, isRefusedLogin, type RefusalReason } from '../core/refused-login.ts';
import { DEFAULT_LIFETIME_SPREAD } from '../core/session-lifetime.ts';
import type { TokenHandle } from '../core/token-handle.ts';

/** The part of a `pg.Pool` that pg-passwordless touches (pg stays an optional peer). */
export interface PgPoolLike {
  connect(): Promise<unknown>;
  connect(
    callback: (error: Error | undefined, client?: unknown, release?: (error?: unknown) => void) => void,
  ): void;
  query(text: string, values?: unknown[]): Promise<{ rows: Array<Record<string, unknown>> }>;
  end(): Promise<void>;
  /** Connections waiting in the pool; none means the next checkout opens a new one (a login). */
  readonly idleCount: number;
  on(event: 'connect', listener: (client: unknown) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

type PooledClient = { release: (error?: unknown) => void };

export interface PoolGuardOptions {
  /** The token cache behind the pool's password: dropped and renewed when the server refuses a login. */
  token?: TokenHandle;
  /** Each connection's lifetime is spread this much around `maxLifetimeSeconds` (0.1 = ±10%). */
  lifetimeSpread?: number;
  /** Connections log in again after about this long; 0 turns lifetimes off. */
  maxLifetimeSeconds?: number;
  now?: () => number;
  random?: () => number;
}

/**
 * One connection's lifetime: `maxLifetimeSeconds` spread by ±`spread`, so that connections opened in
 * one burst do not all log in again in the same second (a TLS-handshake storm on the server).
 *
 * @example
 * import { connectionLifetimeMs } from 'pg-passwordless/pg';
 *
 * console.log(connectionLifetimeMs(1800, 0.1, () => 0)); // 1620000 (27 minutes)
 * console.log(connectionLifetimeMs(1800, 0.1, () => 1)); // 1980000 (33 minutes)
 */
export function connectionLifetimeMs(
  maxLifetimeSeconds: number,
  spread: number,
  random: () => number,
): number {
  return Math.round(maxLifetimeSeconds * 1000 * (1 - spread + 2 * spread * random()));
}

/**
 * Guards a pool built from pg-passwordless options, without touching pg-pool's internals:
 * - a checkout that will open a connection has its token before the socket opens;
 * - a login the server refuses (28000/28P01) goes to the refused-login policy: the cached token is
 *   dropped and the login retried once, only when the identity SDK really gave a new token (and at most
 *   once per 30 s); otherwise, or after a second refusal, the checkout fails with `TOKEN_REJECTED`;
 * - each connection gets its own lifetime around `maxLifetimeSeconds`; an expired connection is closed
 *   when it is released or next checked out (idle ones also go by `idleTimeoutMillis`).
 * Build the pool with `maxLifetimeSeconds: 0` so that pg-pool's fixed lifetime does not apply too.
 *
 * @example
 * import pg from 'pg';
 * import { guardPool, pgConfig } from 'pg-passwordless/pg';
 *
 * const config = await pgConfig(process.env.DATABASE_URL ?? '');
 * const pool = guardPool(new pg.Pool({ ...config, maxLifetimeSeconds: 0 }), {
 *   token: config.token,
 *   maxLifetimeSeconds: config.maxLifetimeSeconds,
 * });
 * console.log((await pool.query('select 1 as one')).rows[0]);
 * await pool.end();
 */
export function guardPool<P extends PgPoolLike>(pool: P, options: PoolGuardOptions): P {
  const { token } = options;
  const isExpired = trackLifetimes(pool, options);
  const policy = token ? createRefusedLoginPolicy(token) : undefined;
  const connectPooled = pool.connect.bind(pool) as () => Promise<PooledClient>;
  /**
   * A checkout that will log in gets its token first, before pg opens the socket: the wait on the
   * identity endpoint (within the cache's budget) never runs on the server's authentication clock, and
   * a failure is the token cache's typed error, not a login cut off by the server. Idle connections
   * need no token, and stay usable while the identity endpoint is down.
   */
  const connectOnce = async (): Promise<PooledClient> => {
    if (token && pool.idleCount === 0) await token.getToken();
    return connectPooled();
  };
  /** A live client: expired idle ones are closed (release with an error) and replaced. */
  const connectFresh = async (): Promise<PooledClient> => {
    for (;;) {
      const client = await connectOnce();
      if (!isExpired(client)) return client;
      client.release(true);
    }
  };
  const connectWithRetry = async (): Promise<PooledClient> => {
    try {
      return await connectFresh();
    } catch (error) {
      if (!policy || !isRefusedLogin(error)) throw error;
      const verdict = await policy.afterRefusal();
      if (!verdict.retry) throw rejected(error, verdict.reason);
    }
    try {
      return await connectFresh();
    } catch (error) {
      if (!isRefusedLogin(error)) throw error;
      throw rejected(error, 'retried');
    }
  };
  replaceConnect(pool, async () => {
    const client = await connectWithRetry();
    // pg-pool assigns release() at every checkout; an expired client is closed instead of returned.
    const release = client.release;
    client.release = (error?: unknown) => release(error ?? (isExpired(client) ? true : undefined));
    return client;
  });
  return pool;
}

/** Gives each new connection its own lifetime; returns whether a client has outlived its own. */
function trackLifetimes(pool: PgPoolLike, options: PoolGuardOptions): (client: object) => boolean {
  const { lifetimeSpread = DEFAULT_LIFETIME_SPREAD, maxLifetimeSeconds = 0 } = options;
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const expiresAt = new WeakMap<object, number>();
  if (maxLifetimeSeconds > 0) {
    pool.on('connect', (client) => {
      expiresAt.set(
        client as object,
        now() + connectionLifetimeMs(maxLifetimeSeconds, lifetimeSpread, random),
      );
    });
  }
  return (client) => now() >= (expiresAt.get(client) ?? Number.POSITIVE_INFINITY);
}

/** Routes both forms of `pool.connect` through `checkout`: pg-pool's own query() calls this.connect(callback). */
function replaceConnect<P extends PgPoolLike>(pool: P, checkout: () => Promise<PooledClient>): void {
  pool.connect = ((
    callback?: (error: Error | undefined, client?: unknown, release?: (error?: unknown) => void) => void,
  ) => {
    if (!callback) return checkout();
    checkout().then(
      (client) => callback(undefined, client, client.release),
      (error: Error) => callback(error, undefined, () => {}),
    );
    return undefined;
  }) as P['connect'];
}

/** Why the login was not retried, in words; `retried`: a fresh token was refused too. */
const NOT_RETRIED: Record<RefusalReason | 'retried', string> = {
  retried: 'The server refused a fresh token too',
  'same-token':
    'The server refused the token, and the identity SDK returned the same token again from its cache, so the login was not retried',
  'too-soon':
    'The server refused the token, which was renewed less than 30 s ago, so the login was not retried',
  failed: 'The server refused the token, and no new one could be fetched, so the login was not retried',
  replaced: 'The server refused the token',
  renewed: 'The server refused the token',
};

function rejected(error: unknown, why: RefusalReason | 'retried'): PasswordlessError {
  const message = (error as Error).message;
  return new PasswordlessError('TOKEN_REJECTED', `${NOT_RETRIED[why]}: ${message}`, {
    cause: error,
    hint:
      why === 'same-token'
        ? 'The identity SDK serves its cached token until shortly before expiry and offers no way around that cache: ' +
          'check the role mapping and the server clock (`pg-passwordless doctor` names the cause); a new token comes once the cached one nears expiry.'
        : 'The token is valid but does not fit the role: check that the role exists, is named as the identity and was created for it. ' +
          '`pg-passwordless doctor` with the same URL names the cause and the fix for your cloud.',
  });
}
