import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSecureContext, type SecureContext } from 'node:tls';
import { PasswordlessError } from 'pg-passwordless';
import type { Backend } from './backend.ts';
import { startExternalBackend } from './backend-external.ts';
import { startPgliteBackend } from './backend-pglite.ts';
import { findPostgresBinaries, startPostgresBackend } from './backend-postgres.ts';
import { type CertificateNames, createCertificates } from './certificates.ts';
import { type AwsControls, type AwsOptions, createAwsCloud } from './clouds/aws.ts';
import { type AzureControls, type AzureOptions, createAzureCloud } from './clouds/azure.ts';
import { type CloudContext, type CloudName, createLoginRole, type EmulatedCloud } from './clouds/cloud.ts';
import { createGcpCloud, type GcpControls, type GcpOptions } from './clouds/gcp.ts';
import { controlRoutes } from './control-routes.ts';
import { createFaultInjector, type Faults } from './faults.ts';
import { type Gateway, type GatewayStats, startGateway } from './gateway.ts';
import { type LoggedRequest, startIdentityServer } from './identity-server.ts';
import { type LoginValidator, withPasswordRoles, withRevocation } from './login-validator.ts';
import { loopbackHost } from './loopback-host.ts';
import { startPgbouncer } from './pgbouncer.ts';
import { makeOwnedTempFolder, removeStaleTempFolders } from './temp-folders.ts';

export type { CertificateNames } from './certificates.ts';
export { EMULATOR_HELP, parseEmulatorArgs, runEmulatorCommand } from './cli.ts';
export type { IdentityInput } from './clouds/azure.ts';
export type { ManagedIdentity } from './clouds/azure-identities.ts';
export type { EntraRole } from './clouds/azure-validator.ts';
export type { CloudName } from './clouds/cloud.ts';
export type { Faults } from './faults.ts';
export type { LoggedRequest } from './identity-server.ts';

export interface EmulatorOptions extends AzureOptions, AwsOptions, GcpOptions {
  /** The cloud to play (default azure): its identity endpoints, its login check, its client environment. */
  cloud?: CloudName;
  /**
   * `auto` (default): a private cluster of the system PostgreSQL when installed, else embedded PGlite,
   * either reachable only through a Unix socket in a private folder; or `{ url }`: a PostgreSQL you run,
   * given by a superuser URL (it must trust the gateway's logins; `?host=/socket/folder` names a socket).
   */
  backend?: 'auto' | 'postgres' | 'pglite' | { url: string };
  /**
   * Loopback address to listen on (default 127.0.0.1): any 127.x.y.z, ::1 or localhost; anything else is
   * refused (CONFIG_INVALID). The gateway's certificate names it.
   */
  host?: string;
  /**
   * What the gateway's certificate names: `default` (localhost, 127.0.0.1, ::1 and `host`), `ip-only`
   * (only the IP addresses among those, no `DNS:localhost`: what a server reached by IP address presents,
   * so that a client checking an IP target against a name fails here too), or exactly the names and
   * addresses listed (a certificate for another server).
   */
  certificateNames?: CertificateNames;
  gatewayPort?: number;
  identityPort?: number;
  /** Lifetime of issued tokens (Azure: 5 to 60 minutes for users, up to 24 h for managed identities). */
  tokenLifetimeSeconds?: number;
  /** Serve the gateway without TLS as well (require_secure_transport=OFF). TLS is still offered. */
  allowInsecure?: boolean;
  /** Enable password auth next to the cloud's tokens (the static-password baseline) for this role. */
  passwordRole?: { name: string; password: string };
  faults?: Faults;
  /**
   * Also serve a second gateway port whose sessions go through a real PgBouncer in transaction mode, as
   * Azure's built-in PgBouncer on 6432 (needs the PostgreSQL backend and the `pgbouncer` package).
   */
  pgbouncer?: boolean;
  /** Where to write ca.pem (and nothing else); a new temporary folder by default. */
  outDir?: string;
  now?: () => number;
}

export interface EmulatorCounters {
  /** HTTP requests to the identity endpoints (faults and 404s included), not to the control API. */
  identityRequests: number;
  /** Tokens (Azure, GCP) or credential sets (AWS) handed out by the identity endpoints. */
  tokensIssued: number;
  faultsInjected: number;
  gateway: GatewayStats;
}

/** A running emulator. */
export interface Emulator extends AzureControls {
  cloud: CloudName;
  /** What a client needs, as environment variables. */
  env: Record<string, string>;
  identityUrl: string;
  gateway: { host: string; port: number };
  /** The gateway port in front of PgBouncer, when started with `pgbouncer: true`. */
  pgbouncerGateway?: { host: string; port: number };
  caPath: string;
  backend: { kind: Backend['kind']; database: string; describe(): string };
  /** Present when playing AWS. */
  aws?: AwsControls;
  /** Present when playing GCP. */
  gcp?: GcpControls;
  setFaults(faults: Faults): void;
  clearFaults(): void;
  setTokenLifetime(seconds: number): void;
  /** The gateway refuses every token it has accepted so far (clients must fetch new ones); returns how many. */
  revokeAcceptedTokens(): number;
  counters(): EmulatorCounters;
  /** Recent requests to the identity endpoints (method, path, query), oldest first; no control API call. */
  identityRequests(): LoggedRequest[];
  /** Runs SQL on the backend as the superuser; returns the last statement's rows as text. */
  adminSql(sql: string): Promise<string[][]>;
  stop(): Promise<void>;
}

/**
 * Starts a local cloud: identity endpoints that the real SDKs talk to (Azure managed identity by
 * default; AWS container credentials or a GCP metadata server with `cloud`), and a PostgreSQL-wire
 * gateway that checks tokens like that cloud's database, in front of a real PostgreSQL (or embedded PGlite).
 *
 * Its PostgreSQL and PgBouncer end when this process ends, however it ends (stop(), a signal, even
 * SIGKILL): each runs under a supervisor that watches a pipe from this process. No signal or exit
 * handler is installed, so the host program's own signal behaviour is unchanged. Temporary folders that
 * an emulator killed outright leaves behind are removed by the next start.
 *
 * @example
 * const emulator = await startEmulator({ tokenLifetimeSeconds: 300 });
 * console.log(emulator.cloud, emulator.env.PGUSER, emulator.env.PGSSLMODE); // azure orders-api verify-full
 * // run a client with emulator.env, then:
 * await emulator.stop();
 */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const host = loopbackHost(options.host ?? '127.0.0.1');
  const certificateNames = certificateNamesOf(options.certificateNames);
  const now = options.now ?? Date.now;
  const cloudName = options.cloud ?? 'azure';
  let tokenLifetimeSeconds = options.tokenLifetimeSeconds ?? 3600;
  let tokensIssued = 0;
  let gatewayPort = 0;

  removeStaleTempFolders();
  const outDir = options.outDir ?? makeOwnedTempFolder('emulator');
  const ownsOutDir = options.outDir === undefined;
  const certificates = createCertificates([host], certificateNames);
  const caPath = join(outDir, 'ca.pem');
  writeFileSync(caPath, certificates.caCertPem);
  const controlSecret = randomBytes(24).toString('hex');
  const faults = createFaultInjector(now);
  if (options.faults) faults.set(options.faults);

  const backend = await startBackend(options.backend ?? 'auto');
  const cleanups: Array<() => Promise<void>> = [() => backend.stop()];
  const cleanUp = async () => {
    for (const cleanup of cleanups) await cleanup().catch(() => undefined);
    if (ownsOutDir) rmSync(outDir, { recursive: true, force: true });
  };
  try {
    const context: CloudContext = {
      backend,
      now,
      tokenLifetimeSeconds: () => tokenLifetimeSeconds,
      onIssued: () => tokensIssued++,
      gatewayHostPorts: () => [`${host}:${gatewayPort}`, `localhost:${gatewayPort}`],
    };
    const azure = cloudName === 'azure' ? await createAzureCloud(context, options) : undefined;
    const aws = cloudName === 'aws' ? await createAwsCloud(context, options) : undefined;
    const gcp = cloudName === 'gcp' ? await createGcpCloud(context, options) : undefined;
    const cloud = (azure ?? aws ?? gcp) as EmulatedCloud;

    const passwordRoles = new Map<string, string>();
    if (options.passwordRole) {
      await createLoginRole(backend, options.passwordRole.name);
      passwordRoles.set(options.passwordRole.name, options.passwordRole.password);
    }

    let readCounters = (): EmulatorCounters => ({
      identityRequests: 0,
      tokensIssued,
      faultsInjected: 0,
      gateway: {} as GatewayStats,
    });
    const identityServer = await startIdentityServer(
      [
        ...cloud.routes,
        ...controlRoutes({
          secret: controlSecret,
          setFaults: (next) => faults.set(next),
          counters: () => readCounters(),
        }),
      ],
      faults,
      { host, port: options.identityPort ?? 0 },
    );
    cleanups.unshift(() => identityServer.close());

    const secureContext = createSecureContext({
      cert: certificates.serverCertPem,
      key: certificates.serverKeyPem,
      minVersion: 'TLSv1.2',
    });
    const validator = withRevocation(withPasswordRoles(cloud.validator, passwordRoles));
    const gateway: Gateway = await startGateway({
      host,
      port: options.gatewayPort ?? 0,
      secureContext,
      allowInsecure: options.allowInsecure ?? false,
      validator,
      backend,
    });
    gatewayPort = gateway.port;
    cleanups.unshift(() => gateway.close());
    const pooled = options.pgbouncer
      ? await startPgbouncerGateway(backend, validator, secureContext, host)
      : undefined;
    if (pooled) cleanups.unshift(() => pooled.stop());
    readCounters = () => ({
      identityRequests: identityServer.requests(),
      tokensIssued,
      faultsInjected: faults.injected(),
      gateway: gateway.stats(),
    });

    const env: Record<string, string> = {
      ...cloud.clientEnv(identityServer.url),
      PGHOST: host,
      PGPORT: String(gateway.port),
      PGDATABASE: backend.database,
      PGUSER: cloud.defaultUser(),
      // The same target as one URL, with no password in it (the form most apps and the README use).
      DATABASE_URL: `postgresql://${encodeURIComponent(cloud.defaultUser())}@${host}:${gateway.port}/${encodeURIComponent(backend.database)}`,
      PGSSLMODE: 'verify-full',
      PGSSLROOTCERT: caPath,
      NODE_EXTRA_CA_CERTS: caPath,
      PG_PASSWORDLESS_ENABLED: 'true',
      // The control API's origin (POST /emulator/faults, GET /emulator/counters) and its secret.
      PG_PASSWORDLESS_EMULATOR_URL: identityServer.url,
      PG_PASSWORDLESS_EMULATOR_SECRET: controlSecret,
    };
    const notAzure = (): never => {
      throw new Error(`the emulator plays ${cloudName}: this is for Azure only`);
    };

    let stopped = false;
    return {
      cloud: cloudName,
      env,
      identityUrl: identityServer.url,
      gateway: { host, port: gateway.port },
      pgbouncerGateway: pooled ? { host, port: pooled.port } : undefined,
      caPath,
      backend: { kind: backend.kind, database: backend.database, describe: () => backend.describe() },
      aws,
      gcp,
      identities: () => azure?.identities() ?? notAzure(),
      addIdentity: async (input) => {
        const identity = await (azure?.addIdentity(input) ?? notAzure());
        if (input.createRole !== false) pooled?.addUser(identity.name);
        return identity;
      },
      addRole: async (role) => {
        await (azure?.addRole(role) ?? notAzure());
        pooled?.addUser(role.roleName);
      },
      issueToken: (name, issue) => azure?.issueToken(name, issue) ?? notAzure(),
      setFaults: (next) => faults.set(next),
      clearFaults: () => faults.clear(),
      revokeAcceptedTokens: () => validator.revokeAccepted(),
      setTokenLifetime: (seconds) => {
        tokenLifetimeSeconds = seconds;
      },
      counters: () => readCounters(),
      identityRequests: () => identityServer.requestLog(),
      adminSql: (sql) => backend.adminSql(sql),
      stop: async () => {
        if (stopped) return;
        stopped = true;
        await cleanUp();
      },
    };
  } catch (error) {
    await cleanUp();
    throw error;
  }
}

/** A second gateway, same checks, whose sessions go through PgBouncer (transaction pooling) to the backend. */
async function startPgbouncerGateway(
  backend: Backend,
  validator: LoginValidator,
  secureContext: SecureContext,
  host: string,
) {
  if (backend.kind !== 'postgres') {
    throw new PasswordlessError('EMULATOR_FAILED', 'The PgBouncer port needs the PostgreSQL backend.', {
      hint: 'PGlite has one shared session, which a transaction pooler would hand to every client. Use --backend postgres.',
    });
  }
  const roles = (await backend.adminSql('select rolname from pg_roles where rolcanlogin')).map(
    (row) => row[0] as string,
  );
  const bouncer = await startPgbouncer(backend, roles);
  try {
    const gateway = await startGateway({
      host,
      port: 0,
      secureContext,
      allowInsecure: false,
      validator,
      backend: {
        host: bouncer.host,
        port: bouncer.port,
        loginParameters: (role, database, clientSettings) => ({ ...clientSettings, user: role, database }),
        afterLoginSql: () => undefined,
      },
    });
    return {
      port: gateway.port,
      addUser: (role: string) => bouncer.addUser(role),
      stop: async () => {
        await gateway.close();
        await bouncer.stop();
      },
    };
  } catch (error) {
    await bouncer.stop();
    throw error;
  }
}

async function startBackend(choice: NonNullable<EmulatorOptions['backend']>): Promise<Backend> {
  if (typeof choice === 'object') return startExternalBackend(choice.url);
  if (choice === 'pglite' || (choice === 'auto' && !findPostgresBinaries())) return startPgliteBackend();
  return startPostgresBackend();
}

/** The `certificateNames` option, checked before anything starts: a certificate must name something. */
function certificateNamesOf(names: EmulatorOptions['certificateNames']): CertificateNames {
  if (names === undefined) return 'default';
  const valid = Array.isArray(names)
    ? names.length > 0 && names.every((name) => typeof name === 'string' && name !== '')
    : names === 'default' || names === 'ip-only';
  if (!valid) {
    throw new PasswordlessError(
      'CONFIG_INVALID',
      `certificateNames must be 'default', 'ip-only' or a list of names and addresses, not ${JSON.stringify(names)}.`,
      {
        hint: "Use 'ip-only' for a certificate with IP entries only, or list what the certificate names: ['127.0.0.1'].",
      },
    );
  }
  return names;
}
