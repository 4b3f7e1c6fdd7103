import { isAbsolute, resolve } from 'node:path';
import type { ConnectionTarget, Env } from '../core/connection-url.ts';
import type { TokenHandle } from '../core/contract.ts';
import { PasswordlessError } from '../core/errors.ts';
import type { CaSource, DriverTls } from '../core/tls.ts';
import { listClouds, resolveConnection, type Settings } from '../index.ts';

/** What `token` and `exec` need: the target, the role, a token function, and how libpq must verify TLS. */
export interface CliConnection {
  target: ConnectionTarget;
  user: string;
  /** The current token (the cache's: fetched once, refreshed ahead of expiry). */
  getToken(): Promise<string>;
  /** The cache's handle, when the plugin returned one (a third-party plugin may return only a function). */
  token: TokenHandle | undefined;
  /**
   * libpq's sslmode: the URL's, else PGSSLMODE, else verify-full. Weaker ones were refused already, and
   * verify-ca too unless the CA is a file the user named or the cloud's own (never the public roots).
   */
  sslmode: string;
  /**
   * Where the CA the library verifies with comes from (resolveTls says): a file (`sslrootcert` /
   * PGSSLROOTCERT, made absolute), PEM held only in memory (the RDS bundle), or `system` (the platform's
   * roots, with verify-full only).
   */
  ca: { file: string } | { pem: string } | 'system' | 'none';
  /** The TLS options the library's drivers use (`false`: no TLS, allowed for a loopback emulator only). */
  tls: DriverTls;
  /** How long the server lets a session live, when its cloud says (Aurora DSQL: 60 minutes). */
  sessionCapSeconds: number | undefined;
}

/**
 * Resolves the target for the CLI: the URL (else DATABASE_URL, else PGHOST and friends), through the
 * plugins the environment enables, or the one `cloud` names. Fails with a clear error when no plugin
 * yields a token, instead of printing or running with no password.
 *
 * @example
 * // With the emulator's environment (PG_PASSWORDLESS_ENABLED=true, PG_PASSWORDLESS_AZURE_ENABLED=true):
 * const connection = await resolveCliConnection({ url: process.env.DATABASE_URL });
 * console.log(connection.user, connection.sslmode, typeof connection.ca); // orders-api verify-full object
 */
export async function resolveCliConnection(options: {
  url?: string | undefined;
  /** A registered cloud to switch on (`--cloud`), without any environment variable. */
  cloud?: string | undefined;
  env?: Env;
}): Promise<CliConnection> {
  const env = options.env ?? process.env;
  const url = options.url ?? env.DATABASE_URL ?? '';
  const settings: Settings & Record<string, unknown> = { env };
  if (options.cloud) settings[options.cloud] = { enabled: true };
  // The connection's own TLS decision: libpq in `exec` verifies as the driver does (verify-ca never
  // with the public roots), with the CA from where the library took it.
  const { target, params, tls, cloud } = await resolveConnection(url, settings);
  const password = params.password;
  if (!password) {
    throw new PasswordlessError(
      'CONFIG_INVALID',
      'No plugin is enabled, so there is no token for this target.',
      {
        hint: `Set PG_PASSWORDLESS_ENABLED=true and the switch of your cloud (PG_PASSWORDLESS_<CLOUD>_ENABLED=true), or pass --cloud ${(await listClouds({ env, logger: { warn: () => undefined } })).map((cloud) => cloud.name).join('|')}.`,
      },
    );
  }
  const user = params.user ?? target.user;
  if (!user) {
    throw new PasswordlessError(
      'USER_MISSING',
      'No database role: the URL, PGUSER and the plugins name none.',
      {
        hint: 'Put the role in the URL (postgresql://<role>@<host>/<database>) or set PGUSER.',
      },
    );
  }
  return {
    target,
    user,
    getToken: password,
    token: params.token,
    sslmode: libpqSslMode(tls?.sslmode ?? 'verify-full'),
    ca: caForLibpq(tls?.ca ?? { from: 'none' }),
    tls: params.ssl ?? tls?.options ?? { rejectUnauthorized: true },
    sessionCapSeconds: cloud?.identity.sessionCapSeconds,
  };
}

/** node-postgres's `no-verify` is `require` to libpq. */
function libpqSslMode(mode: string): string {
  return mode === 'no-verify' ? 'require' : mode;
}

/** A file libpq can read (made absolute, as the child may run elsewhere), or the PEM to write into one. */
function caForLibpq(ca: CaSource): CliConnection['ca'] {
  switch (ca.from) {
    case 'none':
    case 'system':
      return ca.from;
    case 'tls.caFile':
    case 'sslrootcert':
    case 'PGSSLROOTCERT':
      return { file: isAbsolute(ca.file) ? ca.file : resolve(ca.file) };
    default:
      return { pem: ca.pem };
  }
}

/**
 * A libpq connection URL (also read by node-postgres, psql, pgAdmin's import, node-pg-migrate): the
 * role, host, port and database percent-encoded, then `sslmode` and `sslrootcert`; with `password`
 * (a token) only when asked to. IPv6 hosts get brackets.
 *
 * @example
 * console.log(libpqUrl({ host: 'db.example.com', port: 5432, database: 'orders', user: 'orders@shop.iam', sslmode: 'verify-full' }));
 * // postgresql://orders%40shop.iam@db.example.com:5432/orders?sslmode=verify-full
 * console.log(libpqUrl({ host: '::1', port: 5433, database: undefined, user: 'app', sslmode: 'verify-full', sslrootcert: '/tmp/ca.pem' }));
 * // postgresql://app@[::1]:5433?sslmode=verify-full&sslrootcert=/tmp/ca.pem
 */
export function libpqUrl(parts: {
  host: string;
  port: number;
  database: string | undefined;
  user: string;
  password?: string;
  sslmode: string;
  sslrootcert?: string | undefined;
}): string {
  const host = parts.host.includes(':') ? `[${parts.host}]` : parts.host;
  const userInfo =
    encodeURIComponent(parts.user) + (parts.password ? `:${encodeURIComponent(parts.password)}` : '');
  const path = parts.database ? `/${encodeURIComponent(parts.database)}` : '';
  // A path's "/" may stay as it is in a query; everything else that is not plain is percent-encoded.
  const param = (value: string) => encodeURIComponent(value).replace(/%2F/gi, '/');
  let query = `sslmode=${param(parts.sslmode)}`;
  if (parts.sslrootcert) query += `&sslrootcert=${param(parts.sslrootcert)}`;
  return `postgresql://${userInfo}@${host}:${parts.port}${path}?${query}`;
}
