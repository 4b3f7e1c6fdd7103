import type { CloudDefinition, CloudIdentity, RoleChoice } from './cloud.ts';
import { cloudSwitchVariable } from './cloud.ts';
import type { ConnectionTarget } from './connection-url.ts';
import type { ConnectionParams, ResolvedSettings, TokenCacheSettings } from './contract.ts';
import { PasswordlessError } from './errors.ts';
import { parseBool, settingsSection } from './settings.ts';
import { type ResolvedTls, resolveTls } from './tls.ts';
import { tokenHandle } from './token-cache.ts';

/** What one cloud decided for a connection: its options, what it said about the target, TLS and role. */
export interface CloudResolution {
  cloud: CloudDefinition;
  /** The cloud's section with the environment applied. */
  options: object;
  identity: CloudIdentity;
  tls: ResolvedTls;
  /** The role the cloud named, when the URL and PGUSER name none. */
  role: RoleChoice | undefined;
}

/**
 * Whether a cloud runs: its section's `enabled`, else its variable (`PG_PASSWORDLESS_AZURE_ENABLED`),
 * else whether the user registered it (a cloud named in `plugins` is on by being named).

 */
export function isCloudOn(
  cloud: Pick<CloudDefinition, 'name'>,
  settings: ResolvedSettings,
  registered: boolean,
): boolean {
  const section = settingsSection<{ enabled?: boolean }>(settings, cloud.name);
  return section.enabled ?? parseBool(settings.env, cloudSwitchVariable(cloud.name)) ?? registered;
}

/** A cloud's options: its section with the environment applied. */
export function cloudOptions<Section extends object>(
  cloud: CloudDefinition<string, Section>,
  settings: ResolvedSettings,
): Section {
  const { enabled: _switch, ...section } = settingsSection<Section & { enabled?: boolean }>(
    settings,
    cloud.name,
  );
  return cloud.resolveOptions(section as Partial<Section>, settings.env);
}

/**
 * Runs one cloud for a target, as a plugin: asks it about the target, decides TLS with its CA, gets the
 * token cache for its key (shared by every pool of the process with the same identity, target and
 * `tokenCache` settings), and names the role. Undefined when the cloud is off.
 */
export async function connectCloud(
  cloud: CloudDefinition,
  settings: ResolvedSettings,
  target: ConnectionTarget,
  registered: boolean,
): Promise<{ params: ConnectionParams; resolution: CloudResolution } | undefined> {
  if (!isCloudOn(cloud, settings, registered)) return undefined;
  const options = cloudOptions(cloud, settings);
  const identity = await cloud.identify({ target, options, env: settings.env, logger: settings.logger });
  const tls = resolveTls(target, settings.tls, settings.env, undefined, identity.defaultCa);
  const key = `${cloud.name}|${identity.cacheKey}`;
  const variant = tokenCacheVariant(settings.tokenCache);
  // The cloud's name on every metric and span of its cache; a cloud runs as the plugin of its name.
  const labels = { cloud: cloud.name, plugin: cloud.name };
  const makeOptions = () => ({ source: identity.createSource(), ...settings.tokenCache, labels });
  const cache = identity.credential
    ? settings.caches.getOrCreate(identity.credential, makeOptions, `${key}|${variant}`)
    : settings.caches.getOrCreate(key, makeOptions, variant);
  const role =
    target.user === undefined && identity.roleWhenUnnamed
      ? await identity.roleWhenUnnamed({ getToken: () => cache.getToken() })
      : undefined;
  const user = target.user ?? role?.name;
  if (user === undefined) {
    // Without a role the driver would log in as whatever user the OS has: fail closed instead.
    throw new PasswordlessError(
      'USER_MISSING',
      `The connection URL names no role, and the ${cloud.name} cloud cannot tell one.`,
      {
        hint: 'Put the role in the URL (postgresql://<role>@<host>/<database>) or set PGUSER.',
      },
    );
  }
  return {
    params: { user, ssl: tls.options, token: tokenHandle(cache) },
    resolution: { cloud, options, identity, tls, role },
  };
}

/**
 * The `tokenCache` settings as a stable string (keys sorted), part of a cache's key.
 *
 * @example
 * console.log(tokenCacheVariant({ timeoutMs: 5000, retry: { maxAttempts: 2 } })); // {"retry":{"maxAttempts":2},"timeoutMs":5000}
 */
export function tokenCacheVariant(settings: TokenCacheSettings): string {
  return JSON.stringify(settings, (_key, value: unknown) =>
    value !== null && typeof value === 'object' && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b)))
      : value,
  );
}
