import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type CloudDefinition, isCloud, type RoleChoice } from './cloud.ts';
import { type CloudResolution, connectCloud } from './cloud-connection.ts';
import { type ConnectionTarget, parseConnectionUrl } from './connection-url.ts';
import type { ConnectionParams, CoreSettings, Plugin, ResolvedSettings } from './contract.ts';
import { describeError, type ErrorCode, PasswordlessError } from './errors.ts';
import { isPlugin, mergeConnectionParams } from './merge-params.ts';
import { ensureResolved } from './settings.ts';
import { type ResolvedTls, resolveTls } from './tls.ts';

/**
 * Errors that stop the host instead of being reported as warnings: the user's own settings are wrong,
 * and going on would fall back to connecting without authentication (or without TLS).
 */
const FAIL_CLOSED: ReadonlySet<ErrorCode> = new Set([
  'CONFIG_INVALID',
  'URL_INVALID',
  'TLS_REQUIRED',
  'PEER_MISSING',
  'USER_MISSING',
]);

/**
 * A resolved connection: where to connect, what the plugins said to connect with, and every decision
 * taken on the way, once, for every reader (adapters, the CLI, the doctor): the TLS (mode, CA and where
 * it came from), the cloud whose token is used and what it said, and the role and why.
 */
export interface ResolvedConnection {
  target: ConnectionTarget;
  params: ConnectionParams;
  settings: ResolvedSettings;
  /** The TLS the connection uses; undefined when the host is off (nothing was decided). */
  tls: ResolvedTls | undefined;
  /** The cloud whose token the connection uses (the last one that ran), if any. */
  cloud: CloudResolution | undefined;
  /** The role, and where its name came from. */
  role: RoleChoice | undefined;
  /** The plugins and clouds that ran, in order. */
  ran: string[];
}

/** One entry to run: a plain plugin, or a cloud (registered by the user, or built in). */
type Runnable =
  | { kind: 'plugin'; plugin: Plugin }
  | { kind: 'cloud'; cloud: CloudDefinition; registered: boolean };

/**
 * The plugin host: the reference system's `set_database_connection_params` hook for Node. Parses the
 * URL once, runs every selected plugin and cloud in order (the built-ins it is handed, then the user's),
 * each with a timeout, and merges their results, the later one winning. A plugin that throws or
 * times out is reported as a warning naming it and the others still apply; a configuration error (bad
 * URL, TLS that would not be verified, a missing SDK) is thrown instead. Plugins run only when the
 * settings are enabled (`PG_PASSWORDLESS_ENABLED=true`, or a plugin enabled in code); the target is
 * parsed either way, for adapters.
 */
export async function runPluginHost(
  connectionUrl: string,
  settings: (CoreSettings & object) | ResolvedSettings | undefined,
  builtIns: readonly CloudDefinition[],
): Promise<ResolvedConnection> {
  const resolved = ensureResolved(settings);
  const target = parseConnectionUrl(connectionUrl, resolved.env);
  const params: ConnectionParams = {};
  const ran: string[] = [];
  if (!resolved.enabled)
    return { target, params, settings: resolved, tls: undefined, cloud: undefined, role: undefined, ran };

  let cloud: CloudResolution | undefined;
  let pluginRole: RoleChoice | undefined;
  for (const entry of await loadRunnables(builtIns, resolved)) {
    const name = entry.kind === 'cloud' ? entry.cloud.name : entry.plugin.name;
    try {
      const result = await withTimeout(name, resolved.pluginTimeoutMs, () =>
        runOne(entry, connectionUrl, resolved, copyOf(target)),
      );
      if (!result) continue;
      ran.push(name);
      mergeConnectionParams(params, result.params);
      if (result.resolution) cloud = result.resolution;
      else if (typeof result.params.user === 'string')
        pluginRole = { name: result.params.user, from: `plugin "${name}"` };
    } catch (error) {
      // Misconfiguration fails closed: carrying on would connect without the token the user asked for.
      if (error instanceof PasswordlessError && FAIL_CLOSED.has(error.code)) throw error;
      resolved.logger.warn(
        `plugin "${name}" failed to set database connection params: ${describeError(error)}`,
      );
    }
  }
  const tls = cloud?.tls ?? resolveTls(target, resolved.tls, resolved.env);
  // A token goes only over verified TLS: a plugin that returns a password without saying how to reach
  // the server gets the TLS every connection gets by default.
  if (params.password && params.ssl === undefined) params.ssl = tls.options;
  return {
    target,
    params,
    settings: resolved,
    tls,
    cloud,
    role: roleOf(target, params, cloud, pluginRole, () => userInUrl(connectionUrl, resolved)),
    ran,
  };
}

/** Whether the connection string itself names the role (else PGUSER does). */
function userInUrl(connectionUrl: string, settings: ResolvedSettings): boolean {
  try {
    return parseConnectionUrl(connectionUrl, { ...settings.env, PGUSER: undefined }).user !== undefined;
  } catch {
    return false;
  }
}

function roleOf(
  target: ConnectionTarget,
  params: ConnectionParams,
  cloud: CloudResolution | undefined,
  pluginRole: RoleChoice | undefined,
  namedInUrl: () => boolean,
): RoleChoice | undefined {
  if (target.user !== undefined)
    return { name: target.user, from: namedInUrl() ? 'the connection string' : 'PGUSER' };
  if (pluginRole && pluginRole.name === params.user) return pluginRole;
  return cloud?.role ?? (params.user ? { name: params.user, from: 'a plugin' } : undefined);
}

async function runOne(
  entry: Runnable,
  connectionUrl: string,
  settings: ResolvedSettings,
  target: ConnectionTarget,
): Promise<{ params: ConnectionParams; resolution?: CloudResolution } | undefined> {
  if (entry.kind === 'cloud') return connectCloud(entry.cloud, settings, target, entry.registered);
  const params = await entry.plugin.setDatabaseConnectionParams(connectionUrl, settings, target);
  return params ? { params } : undefined;
}

/** Each plugin gets its own copy of the target, so one cannot change what the next one sees. */
function copyOf(target: ConnectionTarget): ConnectionTarget {
  return { ...target, params: { ...target.params } };
}

function isSelected(name: string, settings: ResolvedSettings): boolean {
  if (settings.allow && !settings.allow.has(name)) return false;
  return !settings.deny.has(name);
}

/**
 * What the user registered besides the built-ins, loaded (module specifiers imported): the clouds
 * after the built-ins, and the plain plugins. What `--cloud`, `--help` and the doctor list.
 */
export async function registered(
  builtIns: readonly CloudDefinition[],
  settings: ResolvedSettings,
): Promise<{ clouds: CloudDefinition[]; plugins: Plugin[] }> {
  const runnables = (await loadRunnables(builtIns, settings, { selectedOnly: false })).filter(
    (entry) => entry.kind === 'plugin' || !builtIns.includes(entry.cloud),
  );
  return {
    clouds: runnables.flatMap((entry) => (entry.kind === 'cloud' ? [entry.cloud] : [])),
    plugins: runnables.flatMap((entry) => (entry.kind === 'plugin' ? [entry.plugin] : [])),
  };
}

async function loadRunnables(
  builtIns: readonly CloudDefinition[],
  settings: ResolvedSettings,
  { selectedOnly = true } = {},
): Promise<Runnable[]> {
  const loaded: Runnable[] = builtIns.map((cloud) => ({ kind: 'cloud', cloud, registered: false }));
  for (const entry of settings.plugins) {
    try {
      const value = typeof entry === 'string' ? await importPlugin(entry) : entry;
      if (isCloud(value)) loaded.push({ kind: 'cloud', cloud: value, registered: true });
      else if (isPlugin(value)) loaded.push({ kind: 'plugin', plugin: value });
      else {
        throw new PasswordlessError(
          'PLUGIN_INVALID',
          'A plugin must be an object with a name and a setDatabaseConnectionParams function, or a cloud made by defineCloud.',
          { hint: 'Export it as the default export or as `plugin`.' },
        );
      }
    } catch (error) {
      const label = typeof entry === 'string' ? `module "${entry}"` : 'an object';
      settings.logger.warn(`could not load the plugin from ${label}: ${describeError(error)}`);
    }
  }
  if (!selectedOnly) return loaded;
  return loaded.filter((entry) =>
    isSelected(entry.kind === 'cloud' ? entry.cloud.name : entry.plugin.name, settings),
  );
}

/** Imports a third-party plugin module, resolving bare names and relative paths from the app's folder. */
async function importPlugin(specifier: string): Promise<unknown> {
  const cwd = process.cwd();
  const path =
    specifier.startsWith('.') || isAbsolute(specifier)
      ? resolve(cwd, specifier)
      : createRequire(join(cwd, 'package.json')).resolve(specifier);
  const module = (await import(pathToFileURL(path).href)) as { default?: unknown; plugin?: unknown };
  const candidates = [module.default, module.plugin, module];
  return (
    candidates.find((value) => isCloud(value) || isPlugin(value)) ?? module.plugin ?? module.default ?? module
  );
}

async function withTimeout<T>(name: string, timeoutMs: number, run: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(
        new PasswordlessError('PLUGIN_FAILED', `timed out after ${timeoutMs} ms`, {
          hint: `Raise pluginTimeoutMs, or check what "${name}" waits for (an identity endpoint that does not answer?).`,
        }),
      );
    }, timeoutMs);
  });
  try {
    return await Promise.race([Promise.resolve().then(run), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
