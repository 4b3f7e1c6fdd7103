import { randomBytes } from 'node:crypto';
import type { Backend } from '../backend.ts';
import { EmulatorError } from '../emulator-error.ts';
import { entraAuthorityRoutes } from './azure-entra-routes.ts';
import {
  ACCEPTED_AUDIENCES,
  type AzureCloudName as AzureCloud,
  DEFAULT_TOKEN_LIFETIME_SECONDS,
  ENTRA_ISSUER_HOSTS,
  entraIssuers,
} from './azure-facts.ts';
import {
  EMULATOR_TENANT_ID,
  type EntraPrincipal,
  type ManagedIdentity,
  makeIdentity,
  makeServicePrincipal,
  type ServicePrincipal,
} from './azure-identities.ts';
import { APP_SERVICE_PATH, azureIdentityRoutes } from './azure-identity-routes.ts';
import {
  type AzureCredentialKind,
  type PlayedCredential,
  PRINCIPAL_KIND,
  playEntraCredential,
} from './azure-played-credential.ts';
import { createSigningKey, issueAzureToken, type SigningKey } from './azure-tokens.ts';
import { azureValidator, type EntraRole } from './azure-validator.ts';
import type { FederatedTokenOptions } from './azure-workload-identity.ts';
import { type CloudContext, createLoginRole, type EmulatedCloud } from './cloud.ts';

export { type AzureCredentialKind, checkAzureCredential } from './azure-played-credential.ts';

export interface IdentityInput {
  name: string;
  /** A system- or user-assigned managed identity, or an application (a service principal). */
  kind?: 'system' | 'user' | 'application';
  clientId?: string;
  objectId?: string;
  /** Create its PostgreSQL role, as `pgaadauth_create_principal` would (default true). */
  createRole?: boolean;
}

export interface AzureOptions {
  /**
   * Default: one `orders-api` of the kind the credential signs in as (system-assigned for a managed
   * identity, user-assigned for workload identity, an application for a service principal). The first
   * system-assigned one answers managed-identity requests that name no id.
   */
  identities?: IdentityInput[];
  /** The sovereign cloud whose audience the gateway expects. */
  azureCloud?: AzureCloud;
  /**
   * The credential the client environment names (default `managed-identity`: the App Service endpoint).
   * `workload-identity` and `service-principal` serve the Entra token endpoint over HTTPS
   * (`AZURE_AUTHORITY_HOST`), for the first user-assigned identity (with a federated credential and its
   * projected token file) or the first application (with a client secret and a certificate file).
   */
  azureCredential?: AzureCredentialKind;
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
  /**
   * A service account token of the emulated cluster, as the workload identity's token file holds, or
   * one made to fail (expired, another audience or subject). Workload identity only.
   */
  issueFederatedToken(options?: FederatedTokenOptions): Promise<string>;
}

/**
 * Azure: managed-identity endpoints (App Service and IMDS forms) issuing RS256 Entra tokens, the Entra
 * token endpoint for workload identity and service principals, and the token check of Azure Database for
 * PostgreSQL (Entra-only).
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
  const kind = options.azureCredential ?? 'managed-identity';
  const server: EntraServer = {
    key: await createSigningKey(),
    resource: ACCEPTED_AUDIENCES[cloud],
    issuers: entraIssuers(cloud, EMULATOR_TENANT_ID),
  };
  const identitySecret = randomBytes(24).toString('hex');
  const lifetimeSeconds = () => context.tokenLifetimeSeconds() ?? DEFAULT_TOKEN_LIFETIME_SECONDS;
  const directory = await createDirectory(
    context.backend,
    options.identities ?? [{ name: 'orders-api', kind: PRINCIPAL_KIND[kind] }],
  );
  const signedIn = kind === 'managed-identity' ? undefined : await signIn(kind, directory);
  const authority = signedIn && { cloud, server, played: signedIn, lifetimeSeconds };
  return {
    name: 'azure',
    routes: [
      ...azureIdentityRoutes({
        key: server.key,
        tenantId: EMULATOR_TENANT_ID,
        issuer: server.issuers[0],
        identitySecret,
        tokenLifetimeSeconds: lifetimeSeconds,
        identities: directory.identities,
        now: context.now,
        onIssued: context.onIssued,
      }),
      ...(authority ? authorityRoutes(authority, context) : []),
    ],
    validator: azureValidator({
      ...server,
      tenantId: EMULATOR_TENANT_ID,
      roles: directory.roles,
      now: context.now,
    }),
    defaultUser: () => (signedIn ? signedIn.principal.name : defaultIdentityName(directory)),
    clientEnv: (identityUrl, secureIdentityUrl) => ({
      ...(signedIn
        ? signedIn.clientEnv(secureIdentityUrl ?? '')
        : { IDENTITY_ENDPOINT: `${identityUrl}${APP_SERVICE_PATH}`, IDENTITY_HEADER: identitySecret }),
      PG_PASSWORDLESS_AZURE_ENABLED: 'true',
    }),
    stop: () => signedIn?.stop(),
    ...controlsOf({ server, directory, signedIn, context, lifetimeSeconds }),
  };
}

/** The Azure handles of the running emulator, over its directory and the credential it plays. */
function controlsOf(played: {
  server: EntraServer;
  directory: Directory;
  signedIn: SignedIn | undefined;
  context: CloudContext;
  lifetimeSeconds: () => number;
}): AzureControls {
  const { server, directory, signedIn, context } = played;
  return {
    identities: directory.identities,
    addIdentity: directory.addIdentity,
    addRole: directory.addRole,
    issueToken: (identityName, issue = {}) =>
      issueNamedToken(server, directory, identityName, {
        ...issue,
        lifetimeSeconds: issue.lifetimeSeconds ?? played.lifetimeSeconds(),
        nowMs: issue.nowMs ?? context.now(),
      }),
    issueFederatedToken: (federated) =>
      signedIn
        ? signedIn.issueFederatedToken({ nowMs: context.now(), ...federated })
        : Promise.reject(
            new EmulatorError(
              'CONFIG_INVALID',
              'The emulator plays a managed identity: it issues no federated tokens.',
              {
                hint: "Start it with azureCredential: 'workload-identity' (--azure-credential workload-identity).",
              },
            ),
          ),
  };
}

/** What the emulated server knows of Entra: the signing key, its cloud's audience and issuers. */
interface EntraServer {
  key: SigningKey;
  resource: string;
  issuers: [v1: string, v2: string];
}

/** The credential played at the Entra token endpoint, and the principal it signs in as. */
type SignedIn = PlayedCredential & { principal: EntraPrincipal };

/** Workload identity for the first user-assigned identity, or a service principal for the first application. */
async function signIn(
  kind: Exclude<AzureCredentialKind, 'managed-identity'>,
  directory: Directory,
): Promise<SignedIn> {
  // There is one: checkAzureCredential refused the options otherwise, before anything started.
  const principal = (
    kind === 'workload-identity'
      ? directory.identities().find((identity) => identity.kind === 'user')
      : directory.applications()[0]
  ) as EntraPrincipal;
  const played = await playEntraCredential(kind, principal, EMULATOR_TENANT_ID);
  return { ...played, principal };
}

function authorityRoutes(
  authority: { cloud: AzureCloud; server: EntraServer; played: SignedIn; lifetimeSeconds: () => number },
  context: CloudContext,
) {
  const { cloud, server, played } = authority;
  return entraAuthorityRoutes({
    key: server.key,
    tenantId: EMULATOR_TENANT_ID,
    issuer: server.issuers[0],
    authorityHost: ENTRA_ISSUER_HOSTS[cloud].v2,
    clients: played.clients,
    cluster: played.cluster,
    tokenLifetimeSeconds: authority.lifetimeSeconds,
    now: context.now,
    onIssued: context.onIssued,
  });
}

function defaultIdentityName(directory: Directory): string {
  const identities = directory.identities();
  return (identities.find((identity) => identity.kind === 'system') ?? identities[0])?.name ?? '';
}

/** The tenant's principals and the roles mapped to them, as the server's labels hold them. */
interface Directory {
  identities(): readonly ManagedIdentity[];
  applications(): readonly ServicePrincipal[];
  roles(): readonly EntraRole[];
  addIdentity(input: IdentityInput): Promise<ManagedIdentity>;
  addRole(role: EntraRole): Promise<void>;
}

/** The directory, with the first principals (and their roles, as pgaadauth_create_principal makes them) added. */
async function createDirectory(backend: Backend, first: readonly IdentityInput[]): Promise<Directory> {
  const identities: ManagedIdentity[] = [];
  const applications: ServicePrincipal[] = [];
  const roles: EntraRole[] = [];
  const addRole = async (role: EntraRole) => {
    await createLoginRole(backend, role.roleName);
    roles.push(role);
  };
  const add = async <P extends EntraPrincipal>(principal: P, input: IdentityInput, list: P[]) => {
    list.push(principal);
    if (input.createRole !== false)
      await addRole({ roleName: principal.name, objectId: principal.objectId, type: 'service' });
    return principal;
  };
  const addIdentity = (input: IdentityInput) =>
    add(makeIdentity(input.name, input.kind === 'user' ? 'user' : 'system', input), input, identities);
  for (const input of first) {
    if (input.kind === 'application') await add(makeServicePrincipal(input.name, input), input, applications);
    else await addIdentity(input);
  }
  return {
    identities: () => identities,
    applications: () => applications,
    roles: () => roles,
    addIdentity,
    addRole,
  };
}

/** A token for a named principal, for the server's resource and from its v1 issuer unless `issue` says otherwise. */
async function issueNamedToken(
  server: EntraServer,
  directory: Directory,
  identityName: string,
  issue: { resource?: string; lifetimeSeconds: number; nowMs: number; issuer?: string },
): Promise<string> {
  const identity = [...directory.identities(), ...directory.applications()].find(
    (candidate) => candidate.name === identityName,
  );
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
