import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EmulatorError } from '../emulator-error.ts';
import { makeOwnedTempFolder } from '../temp-folders.ts';
import type { EntraClient } from './azure-client-auth.ts';
import { createApplicationCredentials } from './azure-client-credentials.ts';
import type { EntraPrincipal, ManagedIdentity, ServicePrincipal } from './azure-identities.ts';
import {
  createWorkloadCluster,
  type FederatedTokenOptions,
  federationOf,
  issueFederatedToken,
  projectFederatedToken,
  type WorkloadCluster,
} from './azure-workload-identity.ts';

/**
 * The credential a client of the emulator signs in with, as `@azure/identity`'s DefaultAzureCredential
 * finds it in the environment: a managed identity (App Service endpoint), workload identity (a federated
 * token file exchanged at the Entra token endpoint), or a service principal (a client secret or a
 * certificate, at the same endpoint).
 */
export type AzureCredentialKind = 'managed-identity' | 'workload-identity' | 'service-principal';

/** The principal kind each credential signs in as: a system-assigned identity, a user-assigned one with a federated credential, an application. */
export const PRINCIPAL_KIND = {
  'managed-identity': 'system',
  'workload-identity': 'user',
  'service-principal': 'application',
} as const satisfies Record<AzureCredentialKind, EntraPrincipal['kind']>;

/** What the emulator set up for a credential signed in at the Entra token endpoint. */
export interface PlayedCredential {
  /** The principals the token endpoint knows, with their credentials. */
  clients(): readonly EntraClient[];
  cluster?: WorkloadCluster;
  /** The variables DefaultAzureCredential reads for it, given the authority's origin. */
  clientEnv(authorityUrl: string): Record<string, string>;
  /** A projected service account token of the cluster (workload identity only). */
  issueFederatedToken(options?: FederatedTokenOptions): Promise<string>;
  /** Stops renewing the token file and removes the files. */
  stop(): void;
}

/**
 * Refuses, before anything starts, a credential whose principal is not among the identities: workload
 * identity federates a user-assigned managed identity, a service principal is an application.
 *
 * @example
 * checkAzureCredential({ azureCredential: 'service-principal', identities: [{ name: 'ci', kind: 'application' }] }); // fine
 * try {
 *   checkAzureCredential({ azureCredential: 'workload-identity', identities: [{ name: 'orders-api' }] });
 * } catch (error) {
 *   console.log((error as { code: string }).code); // CONFIG_INVALID
 * }
 */
export function checkAzureCredential(options: {
  azureCredential?: AzureCredentialKind;
  identities?: ReadonlyArray<{ name: string; kind?: EntraPrincipal['kind'] }>;
}): void {
  const kind = options.azureCredential ?? 'managed-identity';
  if (kind === 'managed-identity' || !options.identities) return;
  if (options.identities.some((identity) => identity.kind === PRINCIPAL_KIND[kind])) return;
  throw new EmulatorError(
    'CONFIG_INVALID',
    `azureCredential '${kind}' needs ${kind === 'workload-identity' ? 'a user-assigned managed identity' : 'an application'} among the identities.`,
    {
      hint: `Add { name, kind: '${PRINCIPAL_KIND[kind]}' } to identities (the command line's --identity NAME makes one).`,
    },
  );
}

/**
 * Sets up workload identity or a service principal for `principal` (the first user-assigned identity, or
 * the first application): the federated credential and the projected token file, or the client secret
 * and the certificate file (its PEM with the private key), in a private folder of the emulator.
 *
 * @example
 * const principal = {
 *   name: 'orders-api',
 *   kind: 'application' as const,
 *   clientId: '0b6f7e4c-1111-4000-8000-000000000001',
 *   objectId: '5c2a9d3e-2222-4000-8000-000000000002',
 * };
 * const played = await playEntraCredential('service-principal', principal, '72f988bf-0000-4000-8000-00000000e1e1');
 * console.log(Object.keys(played.clientEnv('https://127.0.0.1:8443')));
 * // [ 'AZURE_AUTHORITY_HOST', 'AZURE_TENANT_ID', 'AZURE_CLIENT_ID', 'AZURE_CLIENT_SECRET', 'AZURE_CLIENT_CERTIFICATE_PATH' ]
 * played.stop();
 */
export async function playEntraCredential(
  kind: Exclude<AzureCredentialKind, 'managed-identity'>,
  principal: EntraPrincipal,
  tenantId: string,
): Promise<PlayedCredential> {
  const folder = makeOwnedTempFolder('azure');
  try {
    return kind === 'workload-identity'
      ? await playWorkloadIdentity(principal as ManagedIdentity, tenantId, folder)
      : playServicePrincipal(principal as ServicePrincipal, tenantId, folder);
  } catch (error) {
    rmSync(folder, { recursive: true, force: true });
    throw error;
  }
}

async function playWorkloadIdentity(
  identity: ManagedIdentity,
  tenantId: string,
  folder: string,
): Promise<PlayedCredential> {
  const cluster = await createWorkloadCluster(tenantId);
  const client: EntraClient = { principal: identity, federation: federationOf(cluster) };
  // The path the webhook mounts the token at, under the emulator's folder.
  const tokenFile = join(folder, 'azure-identity-token');
  const projection = await projectFederatedToken(tokenFile, () => issueFederatedToken(cluster));
  return {
    clients: () => [client],
    cluster,
    clientEnv: (authorityUrl) => ({
      AZURE_AUTHORITY_HOST: authorityUrl,
      AZURE_TENANT_ID: tenantId,
      AZURE_CLIENT_ID: identity.clientId,
      AZURE_FEDERATED_TOKEN_FILE: tokenFile,
    }),
    issueFederatedToken: (options) => issueFederatedToken(cluster, options),
    stop: () => {
      projection.stop();
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

function playServicePrincipal(
  principal: ServicePrincipal,
  tenantId: string,
  folder: string,
): PlayedCredential {
  const application = createApplicationCredentials(principal.name);
  const certificateFile = join(folder, 'client-certificate.pem');
  writeFileSync(certificateFile, application.certificate.pem, { mode: 0o600 });
  return {
    clients: () => [{ principal, application }],
    // Both, as a CI secret store may hold both: EnvironmentCredential takes the secret when it is set.
    clientEnv: (authorityUrl) => ({
      AZURE_AUTHORITY_HOST: authorityUrl,
      AZURE_TENANT_ID: tenantId,
      AZURE_CLIENT_ID: principal.clientId,
      AZURE_CLIENT_SECRET: application.secret,
      AZURE_CLIENT_CERTIFICATE_PATH: certificateFile,
    }),
    issueFederatedToken: () =>
      Promise.reject(
        new EmulatorError(
          'CONFIG_INVALID',
          'The emulator plays a service principal: it issues no federated tokens.',
        ),
      ),
    stop: () => rmSync(folder, { recursive: true, force: true }),
  };
}
