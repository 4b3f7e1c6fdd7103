import { randomBytes } from 'node:crypto';
import type { Backend } from '../backend.ts';
import {
  ACCEPTED_AUDIENCES,
  type AzureCloudName as AzureCloud,
  DEFAULT_TOKEN_LIFETIME_SECONDS,
  entraIssuers,
} from './azure-facts.ts';
import { EMULATOR_TENANT_ID, type ManagedIdentity, makeIdentity } from './azure-identities.ts';
import { APP_SERVICE_PATH, azureIdentityRoutes } from './azure-identity-routes.ts';
import { createSigningKey, issueAzureToken, type SigningKey } from './azure-tokens.ts';
import { azureValidator, type EntraRole } from './azure-validator.ts';
import { type CloudContext, createLoginRole, type EmulatedCloud } from './cloud.ts';

export interface IdentityInput {
  name: string;
  kind?: 'system' | 'user';
  clientId?: string;
  objectId?: string;
  /** Create its PostgreSQL role, as `pgaadauth_create_principal` would (default true). */
  createRole?: boolean;
}

export interface AzureOptions {
  /** The first system-assigned one answers requests that name no id. Default: one system-assigned `orders-api`. */
  identities?: IdentityInput[];
  /** The sovereign cloud whose audience the gateway expects. */
  azureCloud?: AzureCloud;
}

/** Azure-specific handles of a running emulator. */
export interface AzureControls {
  identities(): readonly ManagedIdentity[];
  addIdentity(input: IdentityInput): Promise<ManagedIdentity>;
  /** Maps an Entra principal to a role (pgaadauth_create_principal_with_oid) and creates the role. */
  addRole(role: EntraRole): Promise<void>;
  /** Issues a token directly (tests: expired tokens, other audiences, other issuers). */
  issueToken(
    identityName: string,
    options?: { resource?: string; lifetimeSeconds?: number; nowMs?: number; issuer?: string },
  ): Promise<string>;
}

/**
 * Azure: managed-identity endpoints (App Service and IMDS forms) issuing RS256 Entra tokens, and the
 * token check of Azure Database for PostgreSQL (Entra-only).
 *
 * @example
 * import { startEmulator } from 'pg-passwordless-emulator';
 *
 * // startEmulator plays Azure with this: managed identities, their roles, the endpoints and the token check.
 * const emulator = await startEmulator({
 *   backend: 'pglite',
 *   identities: [{ name: 'orders-api' }, { name: 'reports', kind: 'user' }],
 * });
 * console.log(emulator.identities().map((identity) => identity.kind)); // [ 'system', 'user' ]
 * console.log(emulator.env.PGUSER, emulator.env.IDENTITY_HEADER !== undefined); // orders-api true
 * await emulator.stop();
 */
export async function createAzureCloud(
  context: CloudContext,
  options: AzureOptions,
): Promise<EmulatedCloud & AzureControls> {
  const cloud = options.azureCloud ?? 'public';
  const server: EntraServer = {
    key: await createSigningKey(),
    resource: ACCEPTED_AUDIENCES[cloud],
    issuers: entraIssuers(cloud, EMULATOR_TENANT_ID),
  };
  const identitySecret = randomBytes(24).toString('hex');
  const lifetimeSeconds = () => context.tokenLifetimeSeconds() ?? DEFAULT_TOKEN_LIFETIME_SECONDS;
  const directory = await createDirectory(
    context.backend,
    options.identities ?? [{ name: 'orders-api', kind: 'system' }],
  );
  return {
    name: 'azure',
    routes: azureIdentityRoutes({
      key: server.key,
      tenantId: EMULATOR_TENANT_ID,
      issuer: server.issuers[0],
      identitySecret,
      tokenLifetimeSeconds: lifetimeSeconds,
      identities: directory.identities,
      now: context.now,
      onIssued: context.onIssued,
    }),
    validator: azureValidator({
      ...server,
      tenantId: EMULATOR_TENANT_ID,
      roles: directory.roles,
      now: context.now,
    }),
    defaultUser: () => {
      const identities = directory.identities();
      return (identities.find((identity) => identity.kind === 'system') ?? identities[0])?.name ?? '';
    },
    clientEnv: (identityUrl) => ({
      IDENTITY_ENDPOINT: `${identityUrl}${APP_SERVICE_PATH}`,
      IDENTITY_HEADER: identitySecret,
      PG_PASSWORDLESS_AZURE_ENABLED: 'true',
    }),
    identities: directory.identities,
    addIdentity: directory.addIdentity,
    addRole: directory.addRole,
    issueToken: (identityName, issue = {}) =>
      issueNamedToken(server, directory, identityName, {
        ...issue,
        lifetimeSeconds: issue.lifetimeSeconds ?? lifetimeSeconds(),
        nowMs: issue.nowMs ?? context.now(),
      }),
  };
}

/** What the emulated server knows of Entra: the signing key, its cloud's audience and issuers. */
interface EntraServer {
  key: SigningKey;
  resource: string;
  issuers: [v1: string, v2: string];
}

/** The tenant's managed identities and the roles mapped to Entra principals, as the server's labels hold them. */
interface Directory {
  identities(): readonly ManagedIdentity[];
  roles(): readonly EntraRole[];
  addIdentity(input: IdentityInput): Promise<ManagedIdentity>;
  addRole(role: EntraRole): Promise<void>;
}

/** The directory, with the first identities (and their roles, as pgaadauth_create_principal makes them) added. */
async function createDirectory(backend: Backend, first: readonly IdentityInput[]): Promise<Directory> {
  const identities: ManagedIdentity[] = [];
  const roles: EntraRole[] = [];
  const addRole = async (role: EntraRole) => {
    await createLoginRole(backend, role.roleName);
    roles.push(role);
  };
  const addIdentity = async (input: IdentityInput) => {
    const identity = makeIdentity(input.name, input.kind ?? 'system', input);
    identities.push(identity);
    if (input.createRole !== false)
      await addRole({ roleName: identity.name, objectId: identity.objectId, type: 'service' });
    return identity;
  };
  for (const input of first) await addIdentity(input);
  return { identities: () => identities, roles: () => roles, addIdentity, addRole };
}

/** A token for a named identity, for the server's resource and from its v1 issuer unless `issue` says otherwise. */
async function issueNamedToken(
  server: EntraServer,
  directory: Directory,
  identityName: string,
  issue: { resource?: string; lifetimeSeconds: number; nowMs: number; issuer?: string },
): Promise<string> {
  const identity = directory.identities().find((candidate) => candidate.name === identityName);
  if (!identity) throw new Error(`no identity named ${identityName}`);
  const issued = await issueAzureToken(server.key, {
    identity,
    resource: issue.resource ?? server.resource,
    tenantId: EMULATOR_TENANT_ID,
    issuer: issue.issuer ?? server.issuers[0],
    lifetimeSeconds: issue.lifetimeSeconds,
    nowMs: issue.nowMs,
  });
  return issued.token;
}
