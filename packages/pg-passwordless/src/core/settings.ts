import { sharedCacheRegistry } from './cache-registry.ts';
import type { Env } from './connection-url.ts';
import type { CoreSettings, ResolvedSettings, TokenCacheSettings } from './contract.ts';
import { PasswordlessError, printable } from './errors.ts';
import { consoleLogger } from './logger.ts';
import { checkRefreshMode } from './refresh-policy.ts';

export type { CoreSettings, ResolvedCoreSettings, ResolvedSettings, TokenCacheSettings } from './contract.ts';

const DEFAULT_PLUGIN_TIMEOUT_MS = 20_000;
const CORE_KEYS = new Set([
  'enabled',
  'allow',
  'deny',
  'plugins',
  'pluginTimeoutMs',
  'tls',
  'tokenCache',
  'logger',
  'env',
  'caches',
]);

/**
 * Resolves the host's settings once, in one pure function. `PG_PASSWORDLESS_ENABLED` gates only what
 * the environment switches on; a plugin section enabled in code needs no gate.
 *
 * @example
 * console.log(resolveSettings({ deny: ['gcp'] }, { PG_PASSWORDLESS_ENABLED: 'true' }).enabled); // true
 * console.log(resolveSettings({}, { PG_PASSWORDLESS_AZURE_ENABLED: 'true' }).enabled); // false: no gate
 */
export function resolveSettings(
  settings: CoreSettings & object = {},
  env: Env = settings.env ?? process.env,
): ResolvedSettings {
  const sections = Object.fromEntries(Object.entries(settings).filter(([key]) => !CORE_KEYS.has(key)));
  const explicitlyEnabled =
    Object.values(sections).some((section) => (section as { enabled?: unknown })?.enabled === true) ||
    (settings.plugins?.length ?? 0) > 0;
  const allow = settings.allow ?? parseList(env.PG_PASSWORDLESS_ALLOW);
  const deny = settings.deny ?? parseList(env.PG_PASSWORDLESS_DENY) ?? [];
  return {
    ...sections,
    enabled: settings.enabled ?? (explicitlyEnabled || (parseBool(env, 'PG_PASSWORDLESS_ENABLED') ?? false)),
    allow: allow ? new Set(allow) : undefined,
    deny: new Set(deny),
    plugins: [...(settings.plugins ?? []), ...(parseList(env.PG_PASSWORDLESS_PLUGINS) ?? [])],
    pluginTimeoutMs: settings.pluginTimeoutMs ?? DEFAULT_PLUGIN_TIMEOUT_MS,
    tls: { ...settings.tls },
    tokenCache: tokenCacheSettings(settings.tokenCache, env),
    logger: settings.logger ?? consoleLogger,
    env,
    caches: settings.caches ?? sharedCacheRegistry,
  };
}

/**
 * Reads a boolean variable the way the reference system's settings do (true/false/1/0/yes/no/on/off).
 *
 * @example
 * import { parseBool } from 'pg-passwordless';
 *
 * console.log(parseBool({ PG_PASSWORDLESS_AZURE_ENABLED: 'yes' }, 'PG_PASSWORDLESS_AZURE_ENABLED')); // true
 */
export function parseBool(env: Env, name: string): boolean | undefined {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return undefined;
  if (['true', '1', 'yes', 'on'].includes(raw)) return true;
  if (['false', '0', 'no', 'off'].includes(raw)) return false;
  throw new PasswordlessError('CONFIG_INVALID', `${name}=${printable(env[name] ?? '')} is not a boolean.`, {
    hint: 'Use true or false (1/0, yes/no and on/off are accepted too).',
  });
}

/** The `tokenCache` section, its refresh mode from `PG_PASSWORDLESS_REFRESH` unless given in code. */
function tokenCacheSettings(explicit: TokenCacheSettings = {}, env: Env): TokenCacheSettings {
  if (explicit.refresh !== undefined) {
    return { ...explicit, refresh: checkRefreshMode(explicit.refresh, 'tokenCache.refresh') };
  }
  const fromEnv = env.PG_PASSWORDLESS_REFRESH;
  if (fromEnv === undefined || fromEnv.trim() === '') return { ...explicit };
  return { ...explicit, refresh: checkRefreshMode(fromEnv, 'PG_PASSWORDLESS_REFRESH') };
}

function parseList(raw: string | undefined): string[] | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  return raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/**
 * A plugin's own section of the settings, checked to be an object (JavaScript callers get a clear
 * error rather than a silent default).
 */
export function settingsSection<T extends object>(settings: ResolvedSettings, name: string): Partial<T> {
  const section = settings[name];
  if (section === undefined || section === null) return {};
  if (typeof section !== 'object') {
    throw new PasswordlessError('CONFIG_INVALID', `settings.${name} must be an object.`, {
      hint: `Pass for example { ${name}: { enabled: true } }.`,
    });
  }
  return section as Partial<T>;
}

/** Accepts settings in either form, so that host and adapters resolve only once. */
export function ensureResolved(
  settings: (CoreSettings & object) | ResolvedSettings | undefined,
): ResolvedSettings {
  return settings !== undefined && settings.deny instanceof Set
    ? (settings as ResolvedSettings)
    : resolveSettings(settings as CoreSettings);
}
