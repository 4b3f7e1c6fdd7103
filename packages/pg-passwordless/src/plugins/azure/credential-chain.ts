import type { Env } from '../../core/connection-url.ts';
import { credentialInCode } from '../../core/credential-in-code.ts';
import type { CredentialContext, CredentialFinding } from '../../core/doctor-hooks.ts';
import type { AzureSettings } from './options.ts';

const has = (env: Env, name: string) => Boolean(env[name]);
const missing = (env: Env, names: string[]) => names.filter((name) => !has(env, name));

/**
 * Which source of DefaultAzureCredential will give the token here, from the environment alone: environment
 * (a service principal), workload identity, managed identity and its source, developer logins.
 * Endpoints and variable names are shown; secret values never are.
 *
 * @example
 * const finding = describeAzureCredential({
 *   env: { IDENTITY_ENDPOINT: 'http://127.0.0.1:41741/msi/token', IDENTITY_HEADER: 'x' },
 *   options: {},
 * });
 * console.log(finding.chosen);
 * // ManagedIdentityCredential, App Service source (IDENTITY_ENDPOINT + IDENTITY_HEADER): http://127.0.0.1:41741/msi/token, system-assigned
 * console.log(finding.skipped[0]); // EnvironmentCredential: AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET (or a certificate, or a username) not set
 */
export function describeAzureCredential({ env, options }: CredentialContext<AzureSettings>): CredentialFinding {
  if (options.credential) return credentialInCode(options.credential);
  const clientId = options.clientId;
  const skipped: string[] = [];
  const narrowed = env.AZURE_TOKEN_CREDENTIALS?.trim().toLowerCase();
  const allowed = (name: string, group: 'prod' | 'dev') =>
    !narrowed || narrowed === group || narrowed === name.toLowerCase();
  const userAssigned = clientId
    ? `, user-assigned client id ${clientId}`
    : env.AZURE_CLIENT_ID
      ? `, user-assigned client id ${env.AZURE_CLIENT_ID} (AZURE_CLIENT_ID)`
      : ', system-assigned';
  const narrowedNote = narrowed ? ` [AZURE_TOKEN_CREDENTIALS=${narrowed}]` : '';

  // 1. EnvironmentCredential: a service principal from variables.
  const secretKind = has(env, 'AZURE_CLIENT_SECRET')
    ? 'AZURE_CLIENT_SECRET'
    : has(env, 'AZURE_CLIENT_CERTIFICATE_PATH')
      ? 'AZURE_CLIENT_CERTIFICATE_PATH'
      : has(env, 'AZURE_USERNAME') && has(env, 'AZURE_PASSWORD')
        ? 'AZURE_USERNAME + AZURE_PASSWORD'
        : undefined;
  const envMissing = missing(env, ['AZURE_TENANT_ID', 'AZURE_CLIENT_ID']);
  if (!allowed('EnvironmentCredential', 'prod')) {
    skipped.push(`EnvironmentCredential: excluded by AZURE_TOKEN_CREDENTIALS=${narrowed}`);
  } else if (envMissing.length === 0 && secretKind) {
    return {
      ok: true,
      chosen: `EnvironmentCredential (AZURE_TENANT_ID + AZURE_CLIENT_ID + ${secretKind}): tenant ${env.AZURE_TENANT_ID}, client id ${env.AZURE_CLIENT_ID}${narrowedNote}`,
      skipped,
    };
  } else {
    const absent = [
      ...envMissing,
      ...(secretKind ? [] : ['AZURE_CLIENT_SECRET (or a certificate, or a username)']),
    ];
    skipped.push(`EnvironmentCredential: ${absent.join(', ')} not set`);
  }

  // 2. WorkloadIdentityCredential: AKS workload identity.
  const wiMissing = missing(env, ['AZURE_FEDERATED_TOKEN_FILE', 'AZURE_CLIENT_ID', 'AZURE_TENANT_ID']);
  if (!allowed('WorkloadIdentityCredential', 'prod')) {
    skipped.push(`WorkloadIdentityCredential: excluded by AZURE_TOKEN_CREDENTIALS=${narrowed}`);
  } else if (wiMissing.length === 0) {
    return {
      ok: true,
      chosen: `WorkloadIdentityCredential (AZURE_FEDERATED_TOKEN_FILE + AZURE_CLIENT_ID + AZURE_TENANT_ID): token file ${env.AZURE_FEDERATED_TOKEN_FILE}, client id ${env.AZURE_CLIENT_ID}${narrowedNote}`,
      skipped,
    };
  } else {
    skipped.push(`WorkloadIdentityCredential: ${wiMissing.join(', ')} not set`);
  }

  // 3. ManagedIdentityCredential: msal-node picks the source from the environment, first match wins.
  if (!allowed('ManagedIdentityCredential', 'prod')) {
    skipped.push(`ManagedIdentityCredential: excluded by AZURE_TOKEN_CREDENTIALS=${narrowed}`);
    return {
      ok: true,
      chosen: `developer logins (Visual Studio Code, Azure CLI, Azure PowerShell, Azure Developer CLI)${narrowedNote}`,
      skipped,
      hint: 'Locally, run `az login` (or `azd auth login`) as a user that has a role on the server.',
    };
  }
  const source = managedIdentitySource(env);
  if (source) {
    return {
      ok: true,
      chosen: `ManagedIdentityCredential, ${source}${userAssigned}${narrowedNote}`,
      skipped,
    };
  }
  return {
    ok: true,
    chosen:
      `ManagedIdentityCredential through IMDS at http://169.254.169.254 (no IDENTITY_ENDPOINT, MSI_ENDPOINT or AZURE_POD_IDENTITY_AUTHORITY_HOST: ` +
      `only an Azure VM, scale set or AKS node answers there)${userAssigned}, then developer logins (Visual Studio Code, Azure CLI, Azure PowerShell, Azure Developer CLI)${narrowedNote}`,
    skipped,
    hint: 'On Azure, assign a managed identity to the app; locally, run `az login` or start `npx pg-passwordless-emulator`.',
  };
}

/** msal-node's ManagedIdentityClient order: Service Fabric, App Service, Machine Learning, Cloud Shell, Azure Arc, IMDS. */
function managedIdentitySource(env: Env): string | undefined {
  if (has(env, 'IDENTITY_ENDPOINT') && has(env, 'IDENTITY_HEADER') && has(env, 'IDENTITY_SERVER_THUMBPRINT'))
    return `Service Fabric source (IDENTITY_ENDPOINT + IDENTITY_HEADER + IDENTITY_SERVER_THUMBPRINT): ${env.IDENTITY_ENDPOINT}`;
  if (has(env, 'IDENTITY_ENDPOINT') && has(env, 'IDENTITY_HEADER'))
    return `App Service source (IDENTITY_ENDPOINT + IDENTITY_HEADER): ${env.IDENTITY_ENDPOINT}`;
  if (has(env, 'MSI_ENDPOINT') && has(env, 'MSI_SECRET'))
    return `Machine Learning source (MSI_ENDPOINT + MSI_SECRET): ${env.MSI_ENDPOINT}`;
  if (has(env, 'MSI_ENDPOINT')) return `Cloud Shell source (MSI_ENDPOINT): ${env.MSI_ENDPOINT}`;
  if (has(env, 'IDENTITY_ENDPOINT') && has(env, 'IMDS_ENDPOINT'))
    return `Azure Arc source (IDENTITY_ENDPOINT + IMDS_ENDPOINT): ${env.IDENTITY_ENDPOINT}`;
  if (has(env, 'AZURE_POD_IDENTITY_AUTHORITY_HOST'))
    return `IMDS source at AZURE_POD_IDENTITY_AUTHORITY_HOST=${env.AZURE_POD_IDENTITY_AUTHORITY_HOST}`;
  return undefined;
}

