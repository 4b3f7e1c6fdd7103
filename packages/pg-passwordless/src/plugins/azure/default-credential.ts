import type { Env } from '../../core/connection-url.ts';
import type { TokenSource } from '../../core/token-source.ts';
import { createAnswerRecorder, type HttpClientLike } from './endpoint-answers.ts';
import type { TokenCredentialLike } from './options.ts';
import { azureTokenSource } from './token-source.ts';

type AzureIdentity = typeof import('@azure/identity');

/**
 * Retries of the SDK's own pipeline per getToken: none. Ours count every request and honour Retry-After
 * (the HTTP client below shows it), and a failing cold fetch sends at most 4 requests. By default
 * DefaultAzureCredential retries 5 times from 800 ms (6 requests, about 18 s, per getToken: 24 requests
 * over a minute with our attempts on top).
 */
const SDK_MAX_RETRIES = 0;

/** The options pg-passwordless builds DefaultAzureCredential with. */
export interface AzureCredentialOptions {
  managedIdentityClientId?: string;
  retryOptions: { maxRetries: number };
  disableInstanceDiscovery?: boolean;
  httpClient?: HttpClientLike;
}

/**
 * The options pg-passwordless builds DefaultAzureCredential with: the user-assigned identity, if any;
 * the SDK's own retries off; the HTTP client whose answers the token source reads; and, when
 * AZURE_AUTHORITY_HOST names the authority (as the AKS workload identity webhook sets it, or the
 * emulator), `disableInstanceDiscovery`. Without it MSAL first asks
 * `login.microsoftonline.com/common/discovery/instance` to vouch for any host it does not know by heart
 * (Azure Stack Hub, a local authority), which fails offline; DefaultAzureCredential then skips its
 * WorkloadIdentityCredential and gets the token through ManagedIdentityCredential's AKS token exchange,
 * a WorkloadIdentityCredential of its own built with `disableInstanceDiscovery: true` and none of these
 * options (its SDK retries on, this HTTP client not in it). @azure/identity's token exchange skips the
 * discovery the same way.
 *
 * @example
 * console.log(azureCredentialOptions({ env: { AZURE_AUTHORITY_HOST: 'https://login.microsoftonline.com/' } }));
 * // { retryOptions: { maxRetries: 0 }, disableInstanceDiscovery: true }
 */
export function azureCredentialOptions({
  clientId,
  env = {},
  httpClient,
}: {
  clientId?: string;
  env?: Env;
  httpClient?: HttpClientLike;
} = {}): AzureCredentialOptions {
  return {
    ...(clientId ? { managedIdentityClientId: clientId } : {}),
    retryOptions: { maxRetries: SDK_MAX_RETRIES },
    ...(env.AZURE_AUTHORITY_HOST ? { disableInstanceDiscovery: true } : {}),
    ...(httpClient ? { httpClient } : {}),
  };
}

/**
 * DefaultAzureCredential as pg-passwordless builds it (see azureCredentialOptions), with its HTTP
 * client's answers recorded, and the token source over it for one scope.
 *
 * Where the environment configures workload identity (and no service principal, which the chain tries
 * first), the source is the WorkloadIdentityCredential the chain would choose, built with the same
 * options. In the chain a failing WorkloadIdentityCredential falls through to ManagedIdentityCredential,
 * which then runs the same exchange again through its AKS token exchange, a WorkloadIdentityCredential
 * built without the caller's options: its SDK retries on (3, honouring Retry-After), outside this HTTP
 * client. Against the emulator's token endpoint answering 503, one failing cold fetch sent 8 requests
 * that way and ran into the cache's 10 s budget; this way, 4 requests and the 503 in half a second.
 *
 * @example
 * const identity = await import('@azure/identity');
 * const source = defaultCredentialSource(identity, {
 *   scope: 'https://ossrdbms-aad.database.windows.net/.default',
 *   env: process.env,
 * });
 * console.log(source.describe().startsWith('Microsoft Entra ID (DefaultAzureCredential: ')); // true
 */
export function defaultCredentialSource(
  identity: AzureIdentity,
  { scope, clientId, env }: { scope: string; clientId?: string; env: Env },
): TokenSource {
  const answers = createAnswerRecorder();
  const options = azureCredentialOptions({ clientId, env, httpClient: answers?.httpClient });
  const workloadClientId = workloadIdentityChosen(env, clientId);
  const build = (): TokenCredentialLike =>
    workloadClientId
      ? new identity.WorkloadIdentityCredential({
          ...(options as ConstructorParameters<AzureIdentity['WorkloadIdentityCredential']>[0]),
          clientId: workloadClientId,
          tenantId: env.AZURE_TENANT_ID,
          tokenFilePath: env.AZURE_FEDERATED_TOKEN_FILE,
        })
      : new identity.DefaultAzureCredential(
          options as ConstructorParameters<AzureIdentity['DefaultAzureCredential']>[0],
        );
  const label = describeDefaultCredential(env, clientId);
  return azureTokenSource(build(), scope, label, { answers, env, renewCredential: build });
}

/**
 * The client id WorkloadIdentityCredential would sign in with, when DefaultAzureCredential's chain would
 * choose it: its variables are set, no service principal's are (EnvironmentCredential comes first), and
 * AZURE_TOKEN_CREDENTIALS does not leave it out. The chain's own rule: the managed identity client id
 * option, else AZURE_CLIENT_ID.
 */
function workloadIdentityChosen(env: Env, clientId: string | undefined): string | undefined {
  const narrowed = env.AZURE_TOKEN_CREDENTIALS?.trim().toLowerCase();
  if (narrowed && narrowed !== 'prod' && narrowed !== 'workloadidentitycredential') return undefined;
  const servicePrincipal =
    env.AZURE_TENANT_ID &&
    env.AZURE_CLIENT_ID &&
    (env.AZURE_CLIENT_SECRET ||
      env.AZURE_CLIENT_CERTIFICATE_PATH ||
      (env.AZURE_USERNAME && env.AZURE_PASSWORD));
  const workloadClient = clientId ?? env.AZURE_CLIENT_ID;
  if (servicePrincipal || !env.AZURE_FEDERATED_TOKEN_FILE || !env.AZURE_TENANT_ID) return undefined;
  return workloadClient || undefined;
}

/**
 * Where DefaultAzureCredential will look, in its own order, from the environment (ids, paths and
 * endpoints only, never a secret); the WorkloadIdentityCredential built in its place says so.
 *
 * @example
 * console.log(describeDefaultCredential({ AZURE_TENANT_ID: 't', AZURE_CLIENT_ID: 'c', AZURE_FEDERATED_TOKEN_FILE: '/var/run/secrets/azure/tokens/azure-identity-token' }, undefined));
 * // WorkloadIdentityCredential (DefaultAzureCredential's choice here): client id c, token file /var/run/secrets/azure/tokens/azure-identity-token
 */
export function describeDefaultCredential(env: Env, clientId: string | undefined): string {
  const authority = env.AZURE_AUTHORITY_HOST ? `, authority ${env.AZURE_AUTHORITY_HOST}` : '';
  const workload = workloadIdentityChosen(env, clientId);
  if (workload) {
    return `WorkloadIdentityCredential (DefaultAzureCredential's choice here): client id ${workload}, token file ${env.AZURE_FEDERATED_TOKEN_FILE}${authority}`;
  }
  const servicePrincipal = Boolean(env.AZURE_TENANT_ID && env.AZURE_CLIENT_ID);
  const where =
    servicePrincipal && env.AZURE_CLIENT_SECRET
      ? `service principal ${env.AZURE_CLIENT_ID} (client secret${authority})`
      : servicePrincipal && env.AZURE_CLIENT_CERTIFICATE_PATH
        ? `service principal ${env.AZURE_CLIENT_ID} (certificate ${env.AZURE_CLIENT_CERTIFICATE_PATH}${authority})`
        : env.IDENTITY_ENDPOINT
          ? `managed identity at ${env.IDENTITY_ENDPOINT}`
          : env.AZURE_POD_IDENTITY_AUTHORITY_HOST
            ? `managed identity (IMDS) at ${env.AZURE_POD_IDENTITY_AUTHORITY_HOST}`
            : 'environment, workload identity, managed identity or developer login';
  return `DefaultAzureCredential: ${where}${clientId && !servicePrincipal ? `, client id ${clientId}` : ''}`;
}
