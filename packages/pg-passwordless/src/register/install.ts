import { cloudSwitchVariable } from '../core/cloud.ts';
import { isCloudOn } from '../core/cloud-connection.ts';
import type { Env } from '../core/connection-url.ts';
import { parseConnectionUrl, redactUrl } from '../core/connection-url.ts';
import { PasswordlessError } from '../core/errors.ts';
import type { ResolvedSettings } from '../core/settings.ts';
import { buildTlsOptions } from '../core/tls.ts';
import { builtInClouds, resolveConnection, resolveSettings } from '../index.ts';
import { appPgPaths, loadPg } from './find-pg.ts';
import { type PreloadTarget, patchPg } from './patch-pg.ts';

/** What the preload did: the target it serves and the `pg` files it patched. */
export interface InstalledPreload {
  /** `host:port` of the target (never a URL, which could hold a password). */
  target: string;
  /** Paths of the app's `pg` modules now patched; empty when the app has no pg to find. */
  patched: string[];
}

/**
 * The preload, driven by the environment only. Off (returns undefined, loads nothing, touches nothing)
 * unless `PG_PASSWORDLESS_ENABLED=true`. On, it checks at once what can be checked without the network
 * (the target from DATABASE_URL or PGHOST, sslmode, a readable CA, a cloud switch) and throws a
 * PasswordlessError when something is wrong (see startFailureMessage): such an error never heals, and
 * a process that stops at start with the code and hint is better than one that starts and fails every
 * query. It then patches the app's `pg`; the plugin host runs at the first connection to the target,
 * once (a failure is retried by the next connection), so that an app that never connects loads no SDK
 * and asks no identity endpoint.
 *
 * @example
 * const installed = installPreload(process.env, { cwd: process.cwd(), entry: process.argv[1] });
 * console.log(installed?.target, installed?.patched.length); // 127.0.0.1:5432 1
 * const pg = (await import('pg')).default; // the app's own code, unchanged
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * console.log((await pool.query('select current_user')).rows[0]); // { current_user: 'orders-api' }
 * await pool.end();
 */
export function installPreload(
  env: Env = process.env,
  where: { cwd: string; entry: string | undefined } = { cwd: process.cwd(), entry: process.argv[1] },
): InstalledPreload | undefined {
  const settings = resolveSettings(undefined, env);
  if (!settings.enabled) return undefined;
  const preload = checkedTarget(env, settings);
  const target = `${preload.target.host}:${preload.target.port}`;
  const paths = appPgPaths(where.cwd, where.entry);
  if (paths.length === 0) {
    settings.logger.warn(
      `pg-passwordless/register: no "pg" package found from ${where.cwd}${where.entry ? ` or ${where.entry}` : ''}; connections to ${target} are not changed.`,
    );
  }
  const patched: string[] = [];
  for (const path of paths) {
    const { pg, parseConnectionString } = loadPg(path);
    if (patchPg(pg, preload, parseConnectionString)) patched.push(path);
  }
  return { target, patched };
}

/** Everything that can be checked before the first connection, without the network. */
function checkedTarget(env: Env, settings: ResolvedSettings): PreloadTarget {
  const url = env.DATABASE_URL ?? '';
  const target = parseConnectionUrl(url, env);
  // Validates sslmode and reads the CA file now; each cloud builds its own. A cloud that brings a
  // private CA (the RDS bundle) makes verify-ca with no CA named its own to allow, not refused here.
  const withCa = builtInClouds.find((cloud) => cloud.privateCa && isCloudOn(cloud, settings, false));
  buildTlsOptions(
    target,
    settings.tls,
    env,
    undefined,
    withCa?.privateCa ? { pem: [], label: withCa.privateCa } : undefined,
  );
  const switchedOn =
    builtInClouds.some((cloud) => isCloudOn(cloud, settings, false)) || settings.plugins.length > 0;
  if (!switchedOn) {
    throw new PasswordlessError(
      'CONFIG_INVALID',
      'PG_PASSWORDLESS_ENABLED=true, but no plugin is switched on, so there is no token to connect with.',
      {
        hint: `Set ${builtInClouds.map((cloud) => cloudSwitchVariable(cloud.name)).join(', ')} to true, or name a plugin or cloud in PG_PASSWORDLESS_PLUGINS.`,
      },
    );
  }
  const describe = `${target.host}:${target.port}`;
  let pending: ReturnType<PreloadTarget['connection']> | undefined;
  const run = async () => {
    const { params } = await resolveConnection(url, settings);
    const { password } = params;
    if (!password) {
      throw new PasswordlessError(
        'CONFIG_INVALID',
        `No plugin returned a password for ${describe} (${redactUrl(url) || 'PGHOST'}).`,
        {
          hint: 'See the plugin warnings logged above; check PG_PASSWORDLESS_ALLOW and PG_PASSWORDLESS_DENY.',
        },
      );
    }
    return Object.assign(params, { password });
  };
  return {
    target,
    env,
    // Once, lazily, shared by every connection; a failure is not kept, so the next connection tries again.
    connection: () => {
      pending ??= run().catch((error: unknown) => {
        pending = undefined;
        throw error;
      });
      return pending;
    },
  };
}

/**
 * What the preload prints when it refuses to start: one line with the code and the message, and the
 * hint, for an error of the library's (a misconfiguration, which no retry heals). Undefined for any
 * other error: that is a bug, and its stack is what helps then.
 *
 * @example
 * try {
 *   installPreload({ PG_PASSWORDLESS_ENABLED: 'true', DATABASE_URL: 'postgresql://app@db.example.com/orders' });
 * } catch (error) {
 *   console.log(startFailureMessage(error));
 *   // pg-passwordless/register could not start: CONFIG_INVALID: PG_PASSWORDLESS_ENABLED=true, but no plugin is switched on, ...
 *   // Hint: Set PG_PASSWORDLESS_AZURE_ENABLED, ...
 * }
 */
export function startFailureMessage(error: unknown): string | undefined {
  if (!(error instanceof PasswordlessError)) return undefined;
  // The message carries the hint as its last line already; it is told apart, on a line of its own.
  const [message] = error.message.split('\nHint: ');
  const hint = error.hint ? `\nHint: ${error.hint}` : '';
  return `pg-passwordless/register could not start: ${error.code}: ${message}${hint}\n`;
}
