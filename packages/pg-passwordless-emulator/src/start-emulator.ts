import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { Backend } from './backend.ts';
import { startExternalBackend } from './backend-external.ts';
import { startPgliteBackend } from './backend-pglite.ts';
import { findPostgresBinaries, startPostgresBackend } from './backend-postgres.ts';
import {
  type CertificateAuthority,
  type CertificateNames,
  createCertificateAuthority,
  createCertificates,
} from './certificates.ts';
import { type AzureControls, checkAzureCredential } from './clouds/azure.ts';
import { type CloudContext, createLoginRole, type EmulatedCloud } from './clouds/cloud.ts';
import { createCloud, type PlayedCloud } from './clouds/create-cloud.ts';
import { controlRoutes } from './control-routes.ts';
import { EmulatorError } from './emulator-error.ts';
import type { Emulator, EmulatorCounters, EmulatorOptions } from './emulator-options.ts';
import { createFaultInjector, type FaultInjector } from './faults.ts';
import { type Gateway, type GatewayStats, startGateway } from './gateway.ts';
import { type IdentityServer, type IdentityTls, type Route, startIdentityServer } from './identity-server.ts';
import { type RevocableValidator, withPasswordRoles, withRevocation } from './login-validator.ts';
import { loopbackHost } from './loopback-host.ts';
import { type PgbouncerGateway, startPgbouncerGateway } from './pgbouncer-gateway.ts';
import { makeOwnedTempFolder, removeStaleTempFolders } from './temp-folders.ts';

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
  const names = certificateNamesOf(options.certificateNames);
  if ((options.cloud ?? 'azure') === 'azure') checkAzureCredential(options);
  removeStaleTempFolders();
  const teardown = createTeardown();
  const tls = writeCertificates(host, names, options.outDir, teardown);
  const state = createState(options);
  let services: Services | undefined;
  const counters = () => countersOf(state, services);
  try {
    const backend = await startBackend(options.backend ?? 'auto');
    teardown.add(() => backend.stop());
    const context = cloudContext(host, backend, state, teardown);
    const played = await createCloud(options.cloud ?? 'azure', context, options);
    teardown.add(() => played.cloud.stop?.());
    const passwordRoles = await addPasswordRole(backend, options.passwordRole);
    const validator = withRevocation(withPasswordRoles(played.cloud.validator, passwordRoles));
    const sessionCapMs = played.cloud.sessionCapMs;
    const setup = { host, options, backend, tls, state, teardown, validator, sessionCapMs };
    const routes = [...played.cloud.routes, ...controlRoutesOf(state, counters)];
    services = await startServices(setup, routes, identityTls(host, tls, routes, played.cloud));
    const { url: identityUrl, secureUrl } = services.identityServer;
    await played.cloud.started?.({ identityUrl, ...(secureUrl ? { secureUrl } : {}) });
    return emulatorHandle({ ...setup, played, services, counters });
  } catch (error) {
    await teardown.run();
    throw error;
  }
}

/** What stop() undoes, newest first (servers before the backend, the CA folder last); a failing step does not stop the others. */
interface Teardown {
  add(step: () => Promise<void> | void): void;
  run(): Promise<void>;
}

function createTeardown(): Teardown {
  const steps: Array<() => Promise<void> | void> = [];
  return {
    add: (step) => {
      steps.unshift(step);
    },
    run: async () => {
      for (const step of steps.splice(0))
        await Promise.resolve()
          .then(step)
          .catch(() => undefined);
    },
  };
}

/** The gateway's TLS: a fresh CA whose certificate clients trust (ca.pem), and the server certificate it signed. */
interface GatewayTls {
  caPath: string;
  secureContext: SecureContext;
  /** The CA that signed the gateway's certificate, for the identity endpoints' own when they serve HTTPS. */
  authority: CertificateAuthority;
}

function writeCertificates(
  host: string,
  names: CertificateNames,
  outDir: string | undefined,
  teardown: Teardown,
): GatewayTls {
  const folder = outDir ?? makeOwnedTempFolder('emulator');
  // Only a folder of our own is removed at stop: ca.pem in the caller's folder stays.
  if (outDir === undefined) teardown.add(() => rmSync(folder, { recursive: true, force: true }));
  const authority = createCertificateAuthority();
  const certificates = createCertificates([host], names, authority);
  const caPath = join(folder, 'ca.pem');
  writeFileSync(caPath, certificates.caCertPem);
  const secureContext = createSecureContext({
    cert: certificates.serverCertPem,
    key: certificates.serverKeyPem,
    minVersion: 'TLSv1.2',
  });
  return { caPath, secureContext, authority };
}

/**
 * The identity endpoints' TLS, when some routes are served over HTTPS only: a certificate of the same CA
 * for the loopback names and the hosts the cloud tunnels (whatever `certificateNames` made the gateway's).
 */
function identityTls(
  host: string,
  tls: GatewayTls,
  routes: Route[],
  cloud: EmulatedCloud,
): IdentityTls | undefined {
  if (!routes.some((route) => route.secure)) return undefined;
  const tunnelHosts = cloud.tunnelHosts ?? [];
  const names = [...new Set(['localhost', '127.0.0.1', '::1', host, ...tunnelHosts])];
  const { certPem, keyPem } = tls.authority.issueServerCertificate(names);
  return { cert: certPem, key: keyPem, tunnelHosts };
}

/** What changes while the emulator runs: faults, the token lifetime, what was issued, the gateway's port. */
interface RunningState {
  now: () => number;
  faults: FaultInjector;
  /** The control API's secret (X-Emulator-Secret). */
  controlSecret: string;
  /** Set by the option or setTokenLifetime; undefined leaves each cloud its own default. */
  tokenLifetimeSeconds: number | undefined;
  tokensIssued: number;
  /** Known once the gateway listens (RDS tokens name it). */
  gatewayPort: number;
}

function createState(options: EmulatorOptions): RunningState {
  const now = options.now ?? Date.now;
  const faults = createFaultInjector(now);
  if (options.faults) faults.set(options.faults);
  return {
    now,
    faults,
    controlSecret: randomBytes(24).toString('hex'),
    tokenLifetimeSeconds: options.tokenLifetimeSeconds,
    tokensIssued: 0,
    gatewayPort: 0,
  };
}

async function startBackend(choice: NonNullable<EmulatorOptions['backend']>): Promise<Backend> {
  if (typeof choice === 'object') return startExternalBackend(choice.url);
  if (choice === 'pglite' || (choice === 'auto' && !findPostgresBinaries())) return startPgliteBackend();
  return startPostgresBackend();
}

/** What the played cloud reads of the emulator. */
function cloudContext(host: string, backend: Backend, state: RunningState, teardown: Teardown): CloudContext {
  let folder: string | undefined;
  return {
    backend,
    now: state.now,
    tokenLifetimeSeconds: () => state.tokenLifetimeSeconds,
    onIssued: () => {
      state.tokensIssued++;
    },
    gatewayHostPorts: () => [`${host}:${state.gatewayPort}`, `localhost:${state.gatewayPort}`],
    privateFolder: () => {
      if (folder === undefined) {
        const made = makeOwnedTempFolder('cloud');
        teardown.add(() => rmSync(made, { recursive: true, force: true }));
        folder = made;
      }
      return folder;
    },
  };
}

/** The static-password baseline: the role, and its password for the gateway to compare. */
async function addPasswordRole(
  backend: Backend,
  passwordRole: EmulatorOptions['passwordRole'],
): Promise<Map<string, string>> {
  const passwordRoles = new Map<string, string>();
  if (passwordRole) {
    await createLoginRole(backend, passwordRole.name);
    passwordRoles.set(passwordRole.name, passwordRole.password);
  }
  return passwordRoles;
}

function controlRoutesOf(state: RunningState, counters: () => EmulatorCounters): Route[] {
  return controlRoutes({
    secret: state.controlSecret,
    setFaults: (next) => state.faults.set(next),
    counters,
  });
}

/** Everything the emulator started on its way up. */
interface Setup {
  host: string;
  options: EmulatorOptions;
  backend: Backend;
  tls: GatewayTls;
  state: RunningState;
  teardown: Teardown;
  validator: RevocableValidator;
  /** The played cloud's session cap (Aurora DSQL), for the gateway. */
  sessionCapMs: number | undefined;
}

/** The emulator's servers: the identity endpoints, the gateway, and the PgBouncer port when asked for. */
interface Services {
  identityServer: IdentityServer;
  gateway: Gateway;
  pooled: PgbouncerGateway | undefined;
}

async function startServices(setup: Setup, routes: Route[], tls: IdentityTls | undefined): Promise<Services> {
  const { host, options, state, teardown } = setup;
  const identityServer = await startIdentityServer(routes, state.faults, {
    host,
    port: options.identityPort ?? 0,
    ...(tls ? { tls } : {}),
  });
  teardown.add(() => identityServer.close());
  const gateway = await startGateway({
    host,
    port: options.gatewayPort ?? 0,
    secureContext: setup.tls.secureContext,
    allowInsecure: options.allowInsecure ?? false,
    validator: setup.validator,
    backend: setup.backend,
    sessionCapMs: setup.sessionCapMs,
  });
  state.gatewayPort = gateway.port;
  teardown.add(() => gateway.close());
  const pooled = options.pgbouncer
    ? await startPgbouncerGateway(setup.backend, setup.validator, setup.tls.secureContext, host)
    : undefined;
  if (pooled) teardown.add(() => pooled.stop());
  return { identityServer, gateway, pooled };
}

/** The counters; zero for the servers until they all run. */
function countersOf(state: RunningState, services: Services | undefined): EmulatorCounters {
  return {
    identityRequests: services?.identityServer.requests() ?? 0,
    tokensIssued: state.tokensIssued,
    faultsInjected: services ? state.faults.injected() : 0,
    gateway: services?.gateway.stats() ?? ({} as GatewayStats),
  };
}

/** What a client needs, as environment variables: the cloud's own, the target, TLS, and the control API. */
function clientEnvironment(setup: Setup, cloud: EmulatedCloud, services: Services): Record<string, string> {
  const { host, backend, tls, state } = setup;
  const { port } = services.gateway;
  const identityUrl = services.identityServer.url;
  const user = cloud.defaultUser();
  return {
    ...cloud.clientEnv(identityUrl, services.identityServer.secureUrl),
    PGHOST: host,
    PGPORT: String(port),
    PGDATABASE: backend.database,
    PGUSER: user,
    // The same target as one URL, with no password in it (the form most apps and the README use).
    DATABASE_URL: `postgresql://${encodeURIComponent(user)}@${host}:${port}/${encodeURIComponent(backend.database)}`,
    PGSSLMODE: 'verify-full',
    PGSSLROOTCERT: tls.caPath,
    NODE_EXTRA_CA_CERTS: tls.caPath,
    PG_PASSWORDLESS_ENABLED: 'true',
    // The control API's origin (POST /emulator/faults, GET /emulator/counters) and its secret.
    PG_PASSWORDLESS_EMULATOR_URL: identityUrl,
    PG_PASSWORDLESS_EMULATOR_SECRET: state.controlSecret,
  };
}

/** The running emulator as its user holds it. */
function emulatorHandle(
  running: Setup & { played: PlayedCloud; services: Services; counters: () => EmulatorCounters },
): Emulator {
  const { host, backend, tls, state, teardown, validator, played, services } = running;
  let stopped = false;
  return {
    cloud: played.cloud.name,
    env: clientEnvironment(running, played.cloud, services),
    identityUrl: services.identityServer.url,
    gateway: { host, port: services.gateway.port },
    pgbouncerGateway: services.pooled ? { host, port: services.pooled.port } : undefined,
    caPath: tls.caPath,
    backend: { kind: backend.kind, database: backend.database, describe: () => backend.describe() },
    aws: played.aws,
    gcp: played.gcp,
    ...azureControls(played, services.pooled),
    setFaults: (next) => state.faults.set(next),
    clearFaults: () => state.faults.clear(),
    revokeAcceptedTokens: () => validator.revokeAccepted(),
    setTokenLifetime: (seconds) => {
      state.tokenLifetimeSeconds = seconds;
    },
    counters: running.counters,
    identityRequests: () => services.identityServer.requestLog(),
    adminSql: (sql) => backend.adminSql(sql),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await teardown.run();
    },
  };
}

/** The Azure handles; playing another cloud, they throw. Roles added later reach the PgBouncer port too. */
function azureControls(played: PlayedCloud, pooled: PgbouncerGateway | undefined): AzureControls {
  const { azure } = played;
  const notAzure = (): never => {
    throw new Error(`the emulator plays ${played.cloud.name}: this is for Azure only`);
  };
  return {
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
    issueFederatedToken: (options) => azure?.issueFederatedToken(options) ?? notAzure(),
  };
}

/** The `certificateNames` option, checked before anything starts: a certificate must name something. */
function certificateNamesOf(names: EmulatorOptions['certificateNames']): CertificateNames {
  if (names === undefined) return 'default';
  const valid = Array.isArray(names)
    ? names.length > 0 && names.every((name) => typeof name === 'string' && name !== '')
    : names === 'default' || names === 'ip-only';
  if (!valid) {
    throw new EmulatorError(
      'CONFIG_INVALID',
      `certificateNames must be 'default', 'ip-only' or a list of names and addresses, not ${JSON.stringify(names)}.`,
      {
        hint: "Use 'ip-only' for a certificate with IP entries only, or list what the certificate names: ['127.0.0.1'].",
      },
    );
  }
  return names;
}
