import { DEFAULT_MAX_LIFETIME_SECONDS } from '../adapters/pg.ts';
import { lifetimeUnderCap } from '../core/session-lifetime.ts';

/**
 * How much longer than server_lifetime a server connection of PgBouncer may live: PgBouncer closes at
 * most one connection of a pool per server_lifetime / pool_size seconds (its changelog: "Disconnects
 * because of server_lifetime are now separated by (server_lifetime / pool_size) seconds"), so of a pool
 * opened in one burst the last connection goes just before twice server_lifetime.
 */
const PGBOUNCER_LIFETIME_SPREAD = 1;

/**
 * PgBouncer's server_lifetime for the pool: the one asked for, else the library's connection lifetime
 * (30 minutes), kept under the server's session cap (Aurora DSQL's 60 minutes) with PgBouncer's spacing
 * of lifetime closes counted, so that it retires a connection between transactions before the server
 * cuts it off. A connection a client holds (a session in session mode, an open transaction) is retired
 * only once released, as PgBouncer does.
 *
 * @example
 * console.log(poolServerLifetime(undefined, undefined)); // 1800
 * console.log(poolServerLifetime(undefined, 3600)); // 1620: the last of a burst closes before 3240 s
 * console.log(poolServerLifetime(600, 3600)); // 600
 */
export function poolServerLifetime(askedSeconds: number | undefined, capSeconds: number | undefined): number {
  return lifetimeUnderCap(
    askedSeconds ?? DEFAULT_MAX_LIFETIME_SECONDS,
    capSeconds,
    PGBOUNCER_LIFETIME_SPREAD,
  );
}
