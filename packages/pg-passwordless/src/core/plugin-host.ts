import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type ConnectionTarget, parseConnectionUrl } from './connection-url.ts';
import { type ConnectionParams, isPlugin, mergeConnectionParams, type Plugin } from './contract.ts';
import { describeError, type ErrorCode, PasswordlessError } from './errors.ts';
import { type CoreSettings, ensureResolved, type ResolvedSettings } from './settings.ts';

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

/** A resolved connection: where to connect, and what the plugins said to connect with. */
export interface ResolvedConnection {
  target: ConnectionTarget;
  params: ConnectionParams;
  settings: ResolvedSettings;
}

/**
 * The plugin host: the reference system's `set_database_connection_params` hook for Node. Parses the
 * URL once, runs every selected plugin in order (the built-ins it is handed, then third-party ones),
 * each with a timeout, and merges their results, the later plugin winning. A plugin that throws or
 * times out is reported as a warning naming it and the others still apply; a configuration error (bad
 * URL, TLS that would not be verified, a missing SDK) is thrown instead. Plugins run only when the
 * settings are enabled (`PG_PASSWORDLESS_ENABLED=true`, or a plugin enabled in code); the target is
 * parsed either way, for adapters.
 */
export async function runPluginHost(
  connectionUrl: string,
  settings: (CoreSettings & object) | ResolvedSettings | undefined,
  builtInPlugins: readonly Plugin[],
): Promise<ResolvedConnection> {
  const resolved = ensureResolved(settings);
  const target = parseConnectionUrl(connectionUrl, resolved.env);
  const params: ConnectionParams = {};
  if (!resolved.enabled) return { target, params, settings: resolved };

  for (const plugin of await loadPlugins(builtInPlugins, resolved)) {
    try {
      const result = await runWithTimeout(plugin, connectionUrl, resolved, target);
      if (result) mergeConnectionParams(params, result);
    } catch (error) {
      // Misconfiguration fails closed: carrying on would connect without the token the user asked for.
      if (error instanceof PasswordlessError && FAIL_CLOSED.has(error.code)) throw error;
      resolved.logger.warn(
        `plugin "${plugin.name}" failed to set database connection params: ${describeError(error)}`,
      );
    }
  }
  return { target, params, settings: resolved };
}

function isSelected(name: string, settings: ResolvedSettings): boolean {
  if (settings.allow && !settings.allow.has(name)) return false;
  return !settings.deny.has(name);
}

async function loadPlugins(builtIns: readonly Plugin[], settings: ResolvedSettings): Promise<Plugin[]> {
  const loaded: Plugin[] = [];
  for (const entry of [...builtIns, ...settings.plugins]) {
    try {
      const plugin = typeof entry === 'string' ? await importPlugin(entry) : entry;
      if (!isPlugin(plugin)) {
        throw new PasswordlessError(
          'PLUGIN_INVALID',
          'A plugin must be an object with a name and a setDatabaseConnectionParams function.',
          { hint: 'Export it as the default export or as `plugin`.' },
        );
      }
      if (isSelected(plugin.name, settings)) loaded.push(plugin);
    } catch (error) {
      const label = typeof entry === 'string' ? `module "${entry}"` : 'an object';
      settings.logger.warn(`could not load the plugin from ${label}: ${describeError(error)}`);
    }
  }
  return loaded;
}

/** Imports a third-party plugin module, resolving bare names and relative paths from the app's folder. */
async function importPlugin(specifier: string): Promise<unknown> {
  const cwd = process.cwd();
  const path =
    specifier.startsWith('.') || isAbsolute(specifier)
      ? resolve(cwd, specifier)
      : createRequire(join(cwd, 'package.json')).resolve(specifier);
  const module = (await import(pathToFileURL(path).href)) as { default?: unknown; plugin?: unknown };
  return isPlugin(module.default) ? module.default : (module.plugin ?? module.default ?? module);
}

async function runWithTimeout(
  plugin: Plugin,
  connectionUrl: string,
  settings: ResolvedSettings,
  target: ConnectionTarget,
): Promise<ConnectionParams | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(
        new PasswordlessError('PLUGIN_FAILED', `timed out after ${settings.pluginTimeoutMs} ms`, {
          hint: 'Raise pluginTimeoutMs, or check what the plugin waits for (an identity endpoint that does not answer?).',
        }),
      );
    }, settings.pluginTimeoutMs);
  });
  try {
    return await Promise.race([
      // Each plugin gets its own copy of the target, so one cannot change what the next one sees.
      Promise.resolve().then(() =>
        plugin.setDatabaseConnectionParams(connectionUrl, settings, {
          ...target,
          params: { ...target.params },
        }),
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
