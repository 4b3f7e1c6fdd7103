import { createRequire } from 'node:module';
import type { TokenHandle } from '../core/contract.ts';
import type { ResolvedSettings } from '../core/settings.ts';
import type { Settings } from '../index.ts';
import { type PgPasswordlessConfig, pgConfig } from './pg.ts';

/** The pool options pg-passwordless sets; knex hands the rest to tarn.js. */
export interface KnexPoolOptions {
  /** knex ≥ 3.2: a connection is closed at its next checkout once it is older than this. */
  maxConnectionLifetimeMillis?: number;
  /** knex ≥ 3.2: each connection's lifetime gets a random extra of up to this much. */
  maxConnectionLifetimeJitterMillis?: number;
  [tarnOption: string]: unknown;
}

/**
 * A knex config (`client: 'pg'`) whose connections log in with tokens; pass it to `knex(...)`.
 * `token` (the handle on the token cache) is not enumerable, so a spread leaves it behind.
 */
export interface PasswordlessKnexConfig {
  client: 'pg';
  /** node-postgres options; `password` is called by pg for every new physical connection. */
  connection: Omit<PgPasswordlessConfig, 'maxLifetimeSeconds' | 'token'>;
  pool: KnexPoolOptions;
  readonly token?: TokenHandle;
  [knexOption: string]: unknown;
}

export interface KnexConfigOptions {
  settings?: Settings | ResolvedSettings;
  /**
   * More knex config (`pool: { max }`, `searchPath`, ...). `pool` and `connection` are merged into
   * the ones built here; the token function and TLS cannot be replaced by accident.
   */
  knex?: { pool?: Record<string, unknown>; connection?: Record<string, unknown>; [option: string]: unknown };
  /** Connections log in again after about this long (30 minutes by default, ±10%); 0 turns it off. */
  maxLifetimeSeconds?: number;
  /**
   * The installed knex version, read from `knex/package.json` when omitted. Lifetimes need knex 3.2
   * or later: older ones hand unknown pool options to tarn.js, which throws on them.
   */
  knexVersion?: string;
}

/**
 * Resolves a password-less URL into a knex config for PostgreSQL. The token function sits inside a
 * static `connection` object, so knex's pg dialect passes it to every `new pg.Client` (knex copies the
 * object with lodash's cloneDeep, which keeps nested functions, and re-attaches `password` as a
 * hidden property). Each new connection therefore asks the token cache for the current token.
 *
 * Not an async `connection` function: knex calls one only once unless it returns an
 * `expirationChecker` (knex/knex#3578), and a checker that fires makes knex re-run the provider and
 * drop a pooled connection on the spot. Connections are instead renewed by knex's own lifetimes
 * (`pool.maxConnectionLifetimeMillis` with jitter, knex ≥ 3.2), spread ±10% around
 * `maxLifetimeSeconds` so that a pool opened in one burst does not log in again in one burst.
 *
 * @example
 * import knex from 'knex';
 * import { knexConfig } from 'pg-passwordless/knex';
 *
 * const db = knex(await knexConfig(process.env.DATABASE_URL ?? '', { knex: { pool: { max: 5 } } }));
 * const { rows } = await db.raw('select current_user as role');
 * console.log(rows[0].role);
 * await db.destroy();
 */
export async function knexConfig(
  connectionUrl: string,
  options: KnexConfigOptions = {},
): Promise<PasswordlessKnexConfig> {
  const {
    maxLifetimeSeconds: pgLifetime,
    token,
    ...connection
  } = await pgConfig(connectionUrl, options.settings);
  const { pool: extraPool, connection: extraConnection, ...extra } = options.knex ?? {};
  const maxLifetimeSeconds = options.maxLifetimeSeconds ?? pgLifetime;
  const version = options.knexVersion ?? installedKnexVersion();
  const pool: KnexPoolOptions = {};
  if (maxLifetimeSeconds > 0 && supportsLifetimes(version)) {
    Object.assign(pool, knexLifetime(maxLifetimeSeconds, 0.1));
  }
  const config: PasswordlessKnexConfig = {
    ...extra,
    client: 'pg',
    // The user's extra keys first: the password function and TLS always come from pg-passwordless.
    connection: { ...extraConnection, ...connection },
    pool: { ...pool, ...extraPool },
  };
  if (token) Object.defineProperty(config, 'token', { value: token, enumerable: false });
  return config;
}

/**
 * knex's lifetime options for a lifetime spread ±`spread` around `maxLifetimeSeconds`: knex adds a
 * random jitter in [0, jitter) to a base, so the base is the low end and the jitter the width.
 *
 * @example
 * import { knexLifetime } from 'pg-passwordless/knex';
 *
 * console.log(knexLifetime(1800, 0.1));
 * // { maxConnectionLifetimeMillis: 1620000, maxConnectionLifetimeJitterMillis: 360000 }
 */
export function knexLifetime(
  maxLifetimeSeconds: number,
  spread: number,
): Required<Pick<KnexPoolOptions, 'maxConnectionLifetimeMillis' | 'maxConnectionLifetimeJitterMillis'>> {
  const ms = maxLifetimeSeconds * 1000;
  return {
    maxConnectionLifetimeMillis: Math.round(ms * (1 - spread)),
    maxConnectionLifetimeJitterMillis: Math.round(ms * 2 * spread),
  };
}

/** knex added `maxConnectionLifetimeMillis` with the `validate` pool option in 3.2.0. */
function supportsLifetimes(version: string | undefined): boolean {
  if (!version) return true;
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > 3 || (major === 3 && minor >= 2);
}

function installedKnexVersion(): string | undefined {
  try {
    return (createRequire(import.meta.url)('knex/package.json') as { version?: string }).version;
  } catch {
    // knex resolved elsewhere (a bundle, another node_modules): assume a current one.
    return undefined;
  }
}
