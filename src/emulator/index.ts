import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import type { AzureCloud } from '../core/settings.ts';
import { AZURE_POSTGRES_RESOURCES } from '../plugins/azure-cloud.ts';
import { APP_SERVICE_PATH, azureIdentityRoutes, JWKS_PATH } from './azure-identity-routes.ts';
import { createSigningKey, issueAzureToken } from './azure-tokens.ts';
import { azureValidator, type EntraRole } from './azure-validator.ts';
import type { Backend } from './backend.ts';
import { startPgliteBackend } from './backend-pglite.ts';
import { findPostgresBinaries, startPostgresBackend } from './backend-postgres.ts';
import { createCertificates } from './certificates.ts';
import { controlRoutes } from './control-routes.ts';
import { createFaultInjector, type Faults } from './faults.ts';
import { type Gateway, type GatewayStats, startGateway } from './gateway.ts';
import { EMULATOR_TENANT_ID, type ManagedIdentity, makeIdentity } from './identities.ts';
import { type LoggedRequest, startIdentityServer } from './identity-server.ts';
import { quoteIdentifier } from './wire.ts';

export type { EntraRole } from './azure-validator.ts';
export type { Faults } from './faults.ts';
export type { ManagedIdentity } from './identities.ts';
export type { LoggedRequest } from './identity-server.ts';

export interface IdentityInput {
  name: string;
  kind?: 'system' | 'user';
  clientId?: string;
  objectId?: string;
  /** Create its PostgreSQL role, as `pgaadauth_create_principal` would (default true). */
  createRole?: boolean;
}

export interface EmulatorOptions {
  /** `auto` (default): a system PostgreSQL when installed, else embedded PGlite. */
  backend?: 'auto' | 'postgres' | 'pglite';
  /** Loopback address to listen on. */
  host?: string;
  gatewayPort?: number;
  identityPort?: number;
  /** Lifetime of issued tokens (Azure: 5 to 60 minutes for users, up to 24 h for managed identities). */
  tokenLifetimeSeconds?: number;
  /** The identities; the first system-assigned one answers requests that name no id. Default: one system-assigned `orders-api`. */
  identities?: IdentityInput[];
  /** Serve the gateway without TLS as well (require_secure_transport=OFF). TLS is still offered. */
  allowInsecure?: boolean;
  /** Enable password auth next to Entra (the static-password baseline), with this role and password. */
  passwordRole?: { name: string; password: string };
  /** The cloud whose audience the gateway expects. */
  cloud?: AzureCloud;
  faults?: Faults;
  /** Where to write ca.pem (and nothing else); a new temporary folder by default. */
  outDir?: string;
  now?: () => number;
}

export interface EmulatorCounters {
  /** HTTP requests to the identity endpoints, any route, faults included. */
  identityRequests: number;
  tokensIssued: number;
  faultsInjected: number;
  gateway: GatewayStats;
}

/** A running emulator. */
export interface Emulator {
  /** What a client needs, as environment variables. */
  env: Record<string, string>;
  identityUrl: string;
  gateway: { host: string; port: number };
  caPath: string;
  backend: { kind: Backend['kind']; database: string; describe(): string };
  identities(): readonly ManagedIdentity[];
  addIdentity(input: IdentityInput): Promise<ManagedIdentity>;
  /** Maps an Entra principal to a role (pgaadauth_create_principal_with_oid) and creates the role. */
  addRole(role: EntraRole): Promise<void>;
  setFaults(faults: Faults): void;
  clearFaults(): void;
  setTokenLifetime(seconds: number): void;
  counters(): EmulatorCounters;
  /** Recent requests to the identity endpoints (method, path, query), oldest first. */
  identityRequests(): LoggedRequest[];
  /** Issues a token directly (tests: expired tokens, other audiences). */
  issueToken(
    identityName: string,
    options?: { resource?: string; lifetimeSeconds?: number; nowMs?: number },
  ): Promise<string>;
  /** Runs SQL on the backend as the superuser; returns the last statement's rows as text. */
  adminSql(sql: string): Promise<string[][]>;
  stop(): Promise<void>;
}

/**
 * Starts a local Azure-like cloud: managed-identity endpoints that the real `@azure/identity` talks to,
 * and a PostgreSQL-wire gateway that checks Entra tokens like Azure Database for PostgreSQL, in front of
 * a real PostgreSQL (or embedded PGlite).
 *
 * @example
 * const emulator = await startEmulator({ tokenLifetimeSeconds: 300 });
 * Object.assign(process.env, emulator.env);
 * // ... connect with pg-passwordless ...
 * await emulator.stop();
 */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const host = options.host ?? '127.0.0.1';
  const now = options.now ?? Date.now;
  const cloud = options.cloud ?? 'public';
  const resource = AZURE_POSTGRES_RESOURCES[cloud];
  let tokenLifetimeSeconds = options.tokenLifetimeSeconds ?? 3600;
  const identities: ManagedIdentity[] = [];
  const roles: EntraRole[] = [];
  const passwordRoles = new Map<string, string>();
  let tokensIssued = 0;

  const outDir = options.outDir ?? mkdtempSync(join(tmpdir(), 'pg-passwordless-emulator-'));
  const ownsOutDir = options.outDir === undefined;
  const certificates = createCertificates();
  const caPath = join(outDir, 'ca.pem');
  writeFileSync(caPath, certificates.caCertPem);
  const key = await createSigningKey();
  const identitySecret = randomBytes(24).toString('hex');
  const faults = createFaultInjector(now);
  if (options.faults) faults.set(options.faults);

  const backend = await startBackend(options.backend ?? 'auto');
  const cleanups: Array<() => Promise<void>> = [() => backend.stop()];
  try {
    let counters = (): unknown => ({});
    const identityServer = await startIdentityServer(
      [
        ...azureIdentityRoutes({
          key,
          tenantId: EMULATOR_TENANT_ID,
          identitySecret,
          tokenLifetimeSeconds: () => tokenLifetimeSeconds,
          identities: () => identities,
          now,
          onIssued: () => tokensIssued++,
        }),
        ...controlRoutes({
          secret: identitySecret,
          setFaults: (next) => faults.set(next),
          counters: () => counters(),
        }),
      ],
      faults,
      { host, port: options.identityPort ?? 0 },
    );
    cleanups.unshift(() => identityServer.close());

    const gateway: Gateway = await startGateway({
      host,
      port: options.gatewayPort ?? 0,
      secureContext: createSecureContext({
        cert: certificates.serverCertPem,
        key: certificates.serverKeyPem,
        minVersion: 'TLSv1.2',
      }),
      allowInsecure: options.allowInsecure ?? false,
      validator: azureValidator({
        key,
        resource,
        tenantId: EMULATOR_TENANT_ID,
        roles: () => roles,
        passwordRoles: () => passwordRoles,
        passwordAuth: options.passwordRole !== undefined,
        now,
      }),
      backend,
    });
    cleanups.unshift(() => gateway.close());

    const addRole = async (role: EntraRole) => {
      await createBackendRole(backend, role.roleName);
      roles.push(role);
    };
    const addIdentity = async (input: IdentityInput) => {
      const identity = makeIdentity(input.name, input.kind ?? 'system', input);
      identities.push(identity);
      if (input.createRole !== false)
        await addRole({ roleName: identity.name, objectId: identity.objectId, type: 'service' });
      return identity;
    };
    for (const input of options.identities ?? [{ name: 'orders-api', kind: 'system' as const }])
      await addIdentity(input);
    if (options.passwordRole) {
      const { name, password } = options.passwordRole;
      await createBackendRole(backend, name);
      passwordRoles.set(name, password);
    }

    const defaultIdentity = identities.find((identity) => identity.kind === 'system') ?? identities[0];
    const env: Record<string, string> = {
      IDENTITY_ENDPOINT: `${identityServer.url}${APP_SERVICE_PATH}`,
      IDENTITY_HEADER: identitySecret,
      PGHOST: host,
      PGPORT: String(gateway.port),
      PGDATABASE: backend.database,
      PGUSER: defaultIdentity?.name ?? '',
      PGSSLMODE: 'verify-full',
      PGSSLROOTCERT: caPath,
      NODE_EXTRA_CA_CERTS: caPath,
      PG_PASSWORDLESS_ENABLED: 'true',
      PG_PASSWORDLESS_AZURE_ENABLED: 'true',
    };

    const readCounters = (): EmulatorCounters => ({
      identityRequests: identityServer.requests(),
      tokensIssued,
      faultsInjected: faults.injected(),
      gateway: gateway.stats(),
    });
    counters = readCounters;
    let stopped = false;
    return {
      env,
      identityUrl: identityServer.url,
      gateway: { host, port: gateway.port },
      caPath,
      backend: { kind: backend.kind, database: backend.database, describe: () => backend.describe() },
      identities: () => identities,
      addIdentity,
      addRole,
      setFaults: (next) => faults.set(next),
      clearFaults: () => faults.clear(),
      setTokenLifetime: (seconds) => {
        tokenLifetimeSeconds = seconds;
      },
      counters: readCounters,
      identityRequests: () => identityServer.requestLog(),
      issueToken: async (identityName, issue = {}) => {
        const identity = identities.find((candidate) => candidate.name === identityName);
        if (!identity) throw new Error(`no identity named ${identityName}`);
        const issued = await issueAzureToken(key, {
          identity,
          resource: issue.resource ?? resource,
          tenantId: EMULATOR_TENANT_ID,
          lifetimeSeconds: issue.lifetimeSeconds ?? tokenLifetimeSeconds,
          nowMs: issue.nowMs ?? now(),
        });
        return issued.token;
      },
      adminSql: (sql) => backend.adminSql(sql),
      stop: async () => {
        if (stopped) return;
        stopped = true;
        for (const cleanup of cleanups) await cleanup().catch(() => undefined);
        if (ownsOutDir) rmSync(outDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    for (const cleanup of cleanups) await cleanup().catch(() => undefined);
    throw error;
  }
}

async function startBackend(choice: 'auto' | 'postgres' | 'pglite'): Promise<Backend> {
  if (choice === 'pglite' || (choice === 'auto' && !findPostgresBinaries())) return startPgliteBackend();
  return startPostgresBackend();
}

/** What pgaadauth_create_principal leaves behind: a login role that may use the database. */
async function createBackendRole(backend: Backend, roleName: string): Promise<void> {
  const role = quoteIdentifier(roleName);
  await backend.adminSql(
    `DO $$ BEGIN CREATE ROLE ${role} LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;` +
      `GRANT ALL ON DATABASE ${quoteIdentifier(backend.database)} TO ${role}; GRANT ALL ON SCHEMA public TO ${role};`,
  );
}

export { JWKS_PATH };
