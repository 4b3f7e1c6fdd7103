import { quoteIdentifier } from 'pg-passwordless/wire';
import type { Backend } from '../backend.ts';
import type { Route } from '../identity-server.ts';
import type { LoginValidator } from '../login-validator.ts';

export type CloudName = 'azure' | 'aws' | 'gcp';

/** What every emulated cloud gets from the emulator. */
export interface CloudContext {
  backend: Backend;
  now: () => number;
  /** The token lifetime the user set (option or `setTokenLifetime`), if any: each cloud has its own default. */
  tokenLifetimeSeconds: () => number | undefined;
  /** Counts one token (or credential set) handed out. */
  onIssued: () => void;
  /** Where the gateway listens, for clouds whose tokens name the endpoint (RDS). Known once it started. */
  gatewayHostPorts: () => string[];
  /** A private (0700) folder for the files a client is handed (key files, token files), removed at stop. */
  privateFolder: () => string;
}

/** One emulated cloud: its identity endpoints, how its database checks a login, and what a client needs. */
export interface EmulatedCloud {
  name: CloudName;
  routes: Route[];
  validator: LoginValidator;
  /** The gateway ends each session this long after its login (Aurora DSQL's cap); no cap when absent. */
  sessionCapMs?: number;
  /** The role a client logs in as by default (PGUSER). */
  defaultUser: () => string;
  /** Cloud-specific client variables, given the identity server's base URL (and its HTTPS listener's, when routes are `secure`). */
  clientEnv: (identityUrl: string, secureIdentityUrl?: string) => Record<string, string>;
  /** Undoes what the cloud set up besides routes (files it wrote, timers), when the emulator stops. */
  stop?: () => void;
  /**
   * Hosts an SDK posts to whatever its configuration says (Google's token endpoint): the identity
   * server tunnels `CONNECT host:443` for them to its HTTPS listener, whose certificate names them.
   */
  tunnelHosts?: readonly string[];
  /** Called once the identity endpoints listen, with their origins: files that name them are written then. */
  started?(endpoints: { identityUrl: string; secureUrl?: string }): Promise<void> | void;
}

/**
 * What `pgaadauth_create_principal`, `GRANT rds_iam` or `gcloud sql users create` leave behind: a login
 * role that may use the database.
 *
 * @example
 * import { startEmulator } from 'pg-passwordless-emulator';
 *
 * // Every identity the emulator adds gets its login role this way.
 * const emulator = await startEmulator({ backend: 'pglite' });
 * await emulator.addIdentity({ name: 'billing-api' });
 * console.log(await emulator.adminSql("select rolcanlogin from pg_roles where rolname = 'billing-api'"));
 * // [ [ 'true' ] ]
 * await emulator.stop();
 */
export async function createLoginRole(backend: Backend, roleName: string, extraSql = ''): Promise<void> {
  const role = quoteIdentifier(roleName);
  const database = quoteIdentifier(backend.database);
  await backend.adminSql(
    `DO $$ BEGIN CREATE ROLE ${role} LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$; ` +
      `GRANT ALL ON DATABASE ${database} TO ${role}; GRANT ALL ON SCHEMA public TO ${role};${extraSql}`,
  );
}
