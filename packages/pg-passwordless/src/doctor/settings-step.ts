import { type CloudDefinition, cloudSwitchVariable } from '../core/cloud.ts';
import { type CloudResolution, isCloudOn } from '../core/cloud-connection.ts';
import { type ConnectionTarget, type Env, parseConnectionUrl } from '../core/connection-url.ts';
import type { ResolvedSettings } from '../core/contract.ts';
import { type ResolvedConnection, registered } from '../core/plugin-host.ts';
import { describeCaSource, sslModeOf } from '../core/tls.ts';
import { builtInClouds, resolveConnection, resolveSettings, type Settings } from '../index.ts';
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

/** What the settings say before anything is resolved: the clouds and plugins on, and the target. */
interface Reading {
  settings: ResolvedSettings;
  target: ConnectionTarget;
  warnings: string[];
  clouds: CloudDefinition[];
  /** The names of the clouds and plugins on, for the report. */
  names: string[];
  /** The registered clouds' switches, "A, B or C", for hints. */
  switches: string;
}

/** The settings step's report so far: its data, and how its lines read. */
interface Draft {
  reading: Reading;
  data: {
    gate: boolean;
    plugins: string[];
    host: string;
    port: number;
    database?: string | undefined;
    user?: string | undefined;
    sslmode: string;
    /** Where the connection's CA comes from, once it is resolved: what the TLS step probes with. */
    caSource?: string;
    trustStore?: string;
    /** Where the role's name came from (the URL or PGUSER, the token's claims, a service account). */
    userFrom?: string;
  };
  gateText: string;
  targetText(): string;
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
  let reading: Reading;
  try {
    reading = await read(connectionUrl, given, env);
  } catch (error) {
    log.add(errorStep('settings', error));
    return undefined;
  }
  const { settings, target, names, switches } = reading;
  const data = {
    gate: settings.enabled,
    plugins: names,
    host: target.host,
    port: target.port,
    database: target.database,
    user: target.user,
    sslmode: sslModeOf(target, env),
  };
  const draft: Draft = {
    reading,
    data,
    gateText: `gate ${settings.enabled ? 'on' : 'off'} (PG_PASSWORDLESS_ENABLED=${env.PG_PASSWORDLESS_ENABLED ?? ''})`,
    targetText: () =>
      `target host ${target.host}, port ${target.port}, database ${target.database ?? '(default)'}, user ${data.user ?? '(from the token)'}`,
  };
  if (!settings.enabled) {
    fail(
      log,
      draft,
      'GATE_OFF',
      `${draft.gateText}: no plugin runs, so the driver would log in without a token; ${draft.targetText()}`,
      `Set PG_PASSWORDLESS_ENABLED=true and the cloud’s switch (${switches}), or enable a plugin in code.`,
    );
    return outcome(draft, true);
  }
  if (names.length === 0) {
    fail(
      log,
      draft,
      'NO_PLUGIN',
      `${draft.gateText}, but no plugin is on (or PG_PASSWORDLESS_ALLOW/DENY left none); ${draft.targetText()}`,
      `Set ${switches} to true.`,
    );
    return outcome(draft, true);
  }
  return resolutionStep(log, draft, connectionUrl);
}

/** The connection resolved as the drivers resolve it: a plugin's warning or a missing password fails the step. */
async function resolutionStep(log: StepLog, draft: Draft, connectionUrl: string): Promise<SettingsOutcome> {
  const { data, reading } = draft;
  let connection: ResolvedConnection;
  try {
    connection = await resolveConnection(connectionUrl, reading.settings);
  } catch (error) {
    log.add(errorStep('settings', error, data));
    return outcome(draft, true);
  }
  data.user = connection.params.user ?? reading.target.user;
  data.sslmode = connection.tls?.sslmode ?? data.sslmode;
  if (connection.tls) {
    data.caSource = connection.tls.ca.from;
    data.trustStore = describeCaSource(connection.tls.ca, reading.settings.env);
  }
  if (connection.role) data.userFrom = connection.role.from;
  const pluginsText = `plugins ${reading.names.join(', ')}`;
  const noPassword = !connection.params.password && !connection.params.token;
  if (reading.warnings.length > 0 || noPassword) {
    fail(
      log,
      draft,
      'PLUGIN_FAILED',
      `${draft.gateText}; ${pluginsText}; ${reading.warnings.join('; ') || 'no plugin returned a password'}; ${draft.targetText()}`,
      'Fix the plugin named above; with no password function the driver would log in without a token.',
      { warnings: reading.warnings },
    );
    return outcome(draft, noPassword, connection);
  }
  log.add({
    step: 'settings',
    status: 'ok',
    detail: `${draft.gateText}; ${pluginsText}; ${draft.targetText()}${data.userFrom ? ` (from ${data.userFrom})` : ''}; sslmode ${data.sslmode}${data.trustStore ? `, CA ${data.trustStore}` : ''}`,
    data,
  });
  return outcome(draft, false, connection);
}

function fail(log: StepLog, draft: Draft, code: string, detail: string, hint: string, more?: object): void {
  log.add({ step: 'settings', status: 'FAIL', code, detail, hint, data: { ...draft.data, ...more } });
}

function outcome(draft: Draft, failed: boolean, connection?: ResolvedConnection): SettingsOutcome {
  return {
    target: { ...draft.reading.target, user: draft.data.user },
    settings: draft.reading.settings,
    connection,
    cloud: connection?.cloud?.cloud ?? draft.reading.clouds.at(-1),
    cloudResolution: connection?.cloud,
    failed,
  };
}

/** Reads the settings (warnings collected, not printed), the target, and which clouds and plugins are on. */
async function read(connectionUrl: string, given: Settings | undefined, env: Env): Promise<Reading> {
  const warnings: string[] = [];
  const settings = resolveSettings(
    { ...given, env, logger: { warn: (message) => warnings.push(message) } },
    env,
  );
  const target = parseConnectionUrl(connectionUrl, env);
  const { clouds: registeredClouds, plugins } = await registered(builtInClouds, settings);
  const all = [...builtInClouds, ...registeredClouds];
  const clouds = settings.enabled ? all.filter((cloud) => isOnAndSelected(cloud, settings)) : [];
  const pluginNames = plugins.map((plugin) => plugin.name).filter((name) => isSelected(name, settings));
  return {
    settings,
    target,
    warnings,
    clouds,
    names: [...clouds.map((cloud) => cloud.name), ...pluginNames],
    switches: orList(all.map((cloud) => cloudSwitchVariable(cloud.name))),
  };
}

/** A built-in cloud runs when switched on; a cloud the user registered, unless switched off. */
function isOnAndSelected(cloud: CloudDefinition, settings: ResolvedSettings): boolean {
  const byUser = !builtInClouds.some((builtIn) => builtIn.name === cloud.name);
  return isSelected(cloud.name, settings) && isCloudOn(cloud, settings, byUser);
}

function isSelected(name: string, settings: ResolvedSettings): boolean {
  return (!settings.allow || settings.allow.has(name)) && !settings.deny.has(name);
}

/** "a, b or c". */
function orList(items: string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
}
