import { randomBytes } from 'node:crypto';
import { ACCEPTED_AUDIENCES, type AzureCloudName as AzureCloud } from './azure-facts.ts';
import { EMULATOR_TENANT_ID, type ManagedIdentity, makeIdentity } from './azure-identities.ts';
import { APP_SERVICE_PATH, azureIdentityRoutes } from './azure-identity-routes.ts';
import { createSigningKey, entraIssuers, issueAzureToken } from './azure-tokens.ts';
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
  const resource = ACCEPTED_AUDIENCES[options.azureCloud ?? 'public'];
  const issuers = entraIssuers(options.azureCloud ?? 'public', EMULATOR_TENANT_ID);
  const key = await createSigningKey();
  const identitySecret = randomBytes(24).toString('hex');
  const identities: ManagedIdentity[] = [];
  const roles: EntraRole[] = [];

  const addRole = async (role: EntraRole) => {
    await createLoginRole(context.backend, role.roleName);
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

  return {
    name: 'azure',
    routes: azureIdentityRoutes({
      key,
      tenantId: EMULATOR_TENANT_ID,
      issuer: issuers[0],
      identitySecret,
      tokenLifetimeSeconds: context.tokenLifetimeSeconds,
      identities: () => identities,
      now: context.now,
      onIssued: context.onIssued,
    }),
    validator: azureValidator({
      key,
      resource,
      tenantId: EMULATOR_TENANT_ID,
      issuers,
      roles: () => roles,
      now: context.now,
    }),
    defaultUser: () =>
      (identities.find((identity) => identity.kind === 'system') ?? identities[0])?.name ?? '',
    clientEnv: (identityUrl) => ({
      IDENTITY_ENDPOINT: `${identityUrl}${APP_SERVICE_PATH}`,
      IDENTITY_HEADER: identitySecret,
      PG_PASSWORDLESS_AZURE_ENABLED: 'true',
    }),
    identities: () => identities,
    addIdentity,
    addRole,
    issueToken: async (identityName, issue = {}) => {
      const identity = identities.find((candidate) => candidate.name === identityName);
      if (!identity) throw new Error(`no identity named ${identityName}`);
      const issued = await issueAzureToken(key, {
        identity,
        resource: issue.resource ?? resource,
        tenantId: EMULATOR_TENANT_ID,
        issuer: issue.issuer ?? issuers[0],
        lifetimeSeconds: issue.lifetimeSeconds ?? context.tokenLifetimeSeconds(),
        nowMs: issue.nowMs ?? context.now(),
      });
      return issued.token;
    },
  };
}
