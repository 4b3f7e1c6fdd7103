import { cloudSwitchVariable, type CloudDefinition } from '../core/cloud.ts';
import { type CloudResolution, isCloudOn } from '../core/cloud-connection.ts';
import { type ConnectionTarget, type Env, parseConnectionUrl } from '../core/connection-url.ts';
import type { ResolvedSettings } from '../core/contract.ts';
import type { ResolvedConnection } from '../core/plugin-host.ts';
import { sslModeOf } from '../core/tls.ts';
import { builtInClouds, listClouds, resolveConnection, resolveSettings, type Settings } from '../index.ts';
import { errorStep, type StepLog } from './report.ts';

/** What the settings step found: the target, and the connection resolved as every driver would. */
export interface SettingsOutcome {
  target: ConnectionTarget;
  settings: ResolvedSettings;
  /** Undefined when the gate is off, no plugin is on, or the resolution failed. */
  connection: ResolvedConnection | undefined;
  /** The cloud whose token the connection uses, else the last one switched on. */
  cloud: CloudDefinition | undefined;
  cloudResolution: CloudResolution | undefined;
  /** Whether the steps that need a token must be skipped. */
  failed: boolean;
}

/**
 * Step 1: the gate, the clouds and plugins switched on, the target, and the connection resolved once, as
 * `createPool` resolves it. Undefined when not even the settings or the URL can be read.
 */
export async function settingsStep(
  log: StepLog,
  connectionUrl: string,
  given: Settings | undefined,
  env: Env,
): Promise<SettingsOutcome | undefined> {
  const warnings: string[] = [];
  let settings: ResolvedSettings;
  let target: ConnectionTarget;
  try {
    settings = resolveSettings({ ...given, env, logger: { warn: (message) => warnings.push(message) } }, env);
    target = parseConnectionUrl(connectionUrl, env);
  } catch (error) {
    log.add(errorStep('settings', error));
    return undefined;
  }
  const registered = await listClouds(settings);
  const clouds = settings.enabled ? registered.filter((cloud) => isOnAndSelected(cloud, settings)) : [];
  const plugins = settings.plugins
    .map((plugin) => (typeof plugin === 'string' ? plugin : plugin.name))
    .filter((name) => !clouds.some((cloud) => cloud.name === name));
  const names = [...clouds.map((cloud) => cloud.name), ...plugins];
  const switches = orList(registered.map((cloud) => cloudSwitchVariable(cloud.name)));
  const gateText = `gate ${settings.enabled ? 'on' : 'off'} (PG_PASSWORDLESS_ENABLED=${env.PG_PASSWORDLESS_ENABLED ?? ''})`;
  const data = {
    gate: settings.enabled,
    plugins: names,
    host: target.host,
    port: target.port,
    database: target.database,
    user: target.user,
    sslmode: sslModeOf(target, env),
  };
  const targetText = () =>
    `target host ${target.host}, port ${target.port}, database ${target.database ?? '(default)'}, user ${data.user ?? '(from the token)'}`;
  const outcome = (failed: boolean, connection?: ResolvedConnection): SettingsOutcome => ({
    target: { ...target, user: data.user },
    settings,
    connection,
    cloud: connection?.cloud?.cloud ?? clouds.at(-1),
    cloudResolution: connection?.cloud,
    failed,
  });

  if (!settings.enabled) {
    log.add({
      step: 'settings',
      status: 'FAIL',
      code: 'GATE_OFF',
      detail: `${gateText}: no plugin runs, so the driver would log in without a token; ${targetText()}`,
      hint: `Set PG_PASSWORDLESS_ENABLED=true and the cloud’s switch (${switches}), or enable a plugin in code.`,
      data,
    });
    return outcome(true);
  }
  if (names.length === 0) {
    log.add({
      step: 'settings',
      status: 'FAIL',
      code: 'NO_PLUGIN',
      detail: `${gateText}, but no plugin is on (or PG_PASSWORDLESS_ALLOW/DENY left none); ${targetText()}`,
      hint: `Set ${switches} to true.`,
      data,
    });
    return outcome(true);
  }
  let connection: ResolvedConnection;
  try {
    connection = await resolveConnection(connectionUrl, settings);
  } catch (error) {
    log.add(errorStep('settings', error, data));
    return outcome(true);
  }
  data.user = connection.params.user ?? target.user;
  data.sslmode = connection.tls?.sslmode ?? data.sslmode;
  const pluginsText = `plugins ${names.join(', ')}`;
  const noPassword = !connection.params.password && !connection.params.token;
  if (warnings.length > 0 || noPassword) {
    log.add({
      step: 'settings',
      status: 'FAIL',
      code: 'PLUGIN_FAILED',
      detail: `${gateText}; ${pluginsText}; ${warnings.join('; ') || 'no plugin returned a password'}; ${targetText()}`,
      hint: 'Fix the plugin named above; with no password function the driver would log in without a token.',
      data: { ...data, warnings },
    });
    return outcome(noPassword, connection);
  }
  log.add({
    step: 'settings',
    status: 'ok',
    detail: `${gateText}; ${pluginsText}; ${targetText()}; sslmode ${data.sslmode}`,
    data,
  });
  return outcome(false, connection);
}

/** A built-in cloud runs when switched on; a cloud the user registered, unless switched off. */
function isOnAndSelected(cloud: CloudDefinition, settings: ResolvedSettings): boolean {
  const selected = (!settings.allow || settings.allow.has(cloud.name)) && !settings.deny.has(cloud.name);
  const registered = !builtInClouds.some((builtIn) => builtIn.name === cloud.name);
  return selected && isCloudOn(cloud, settings, registered);
}

/** "a, b or c". */
function orList(items: string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
}
