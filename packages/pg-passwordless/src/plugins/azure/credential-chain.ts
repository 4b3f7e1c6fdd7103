import { readFileSync } from 'node:fs';
import type { Env } from '../../core/connection-url.ts';
import { type ChainSource, credentialInCode, firstSource } from '../../core/credential-chain.ts';
import type { CredentialContext, CredentialFinding } from '../../core/doctor-hooks.ts';
import { type FileReading, readCertificateFile, readFederatedTokenFile } from './credential-files.ts';
import type { AzureSettings } from './options.ts';

const has = (env: Env, name: string) => Boolean(env[name]);
const missing = (env: Env, names: string[]) => names.filter((name) => !has(env, name));

/**
 * Which source of DefaultAzureCredential will give the token here, from the environment alone: environment
 * (a service principal), workload identity, managed identity and its source, developer logins.
 * Endpoints, variable names and the files named are shown (a certificate's subject and thumbprint, a
 * federated token's issuer, audience, subject and expiry); secret values and tokens never are. A file
 * that cannot be read, an expired federated token or one for another audience fails the step.
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
export function describeAzureCredential(context: CredentialContext<AzureSettings>): CredentialFinding {
  const { env, options } = context;
  if (options.credential) return credentialInCode(options.credential);
  const narrowed = env.AZURE_TOKEN_CREDENTIALS?.trim().toLowerCase();
  const scope: ChainScope = {
    env,
    clientId: options.clientId,
    read: context.readFile ?? ((path) => readFileSync(path, 'utf8')),
    nowMs: Date.now(),
    narrowed,
    note: narrowed ? ` [AZURE_TOKEN_CREDENTIALS=${narrowed}]` : '',
    // AZURE_TOKEN_CREDENTIALS narrows the chain to `prod`, `dev` or one credential's name.
    allowed: (name) => !narrowed || narrowed === 'prod' || narrowed === name.toLowerCase(),
  };
  return firstSource([
    () => environmentCredential(scope),
    () => workloadIdentityCredential(scope),
    () => managedIdentityCredential(scope),
    () => ({
      ok: true,
      chosen: `${DEVELOPER_LOGINS}${scope.note}`,
      hint: 'Locally, run `az login` (or `azd auth login`) as a user that has a role on the server.',
    }),
  ]);
}

/** What every step of DefaultAzureCredential's chain reads. */
interface ChainScope {
  env: Env;
  clientId: string | undefined;
  read: (path: string) => string;
  nowMs: number;
  narrowed: string | undefined;
  note: string;
  allowed(credential: string): boolean;
}

/** 1. EnvironmentCredential: a service principal from variables (a secret first, then a certificate, then a user). */
function environmentCredential(scope: ChainScope): ReturnType<ChainSource> {
  const { env, narrowed, note, allowed } = scope;
  if (!allowed('EnvironmentCredential'))
    return `EnvironmentCredential: excluded by AZURE_TOKEN_CREDENTIALS=${narrowed}`;
  const secretKind = has(env, 'AZURE_CLIENT_SECRET')
    ? 'AZURE_CLIENT_SECRET'
    : has(env, 'AZURE_CLIENT_CERTIFICATE_PATH')
      ? 'AZURE_CLIENT_CERTIFICATE_PATH'
      : has(env, 'AZURE_USERNAME') && has(env, 'AZURE_PASSWORD')
        ? 'AZURE_USERNAME + AZURE_PASSWORD'
        : undefined;
  const absent = missing(env, ['AZURE_TENANT_ID', 'AZURE_CLIENT_ID']);
  if (absent.length > 0 || !secretKind) {
    if (!secretKind) absent.push('AZURE_CLIENT_SECRET (or a certificate, or a username)');
    return `EnvironmentCredential: ${absent.join(', ')} not set`;
  }
  const certificatePath = env.AZURE_CLIENT_CERTIFICATE_PATH;
  const reading =
    secretKind === 'AZURE_CLIENT_CERTIFICATE_PATH' && certificatePath
      ? readCertificateFile(certificatePath, scope.read, scope.nowMs)
      : undefined;
  const what =
    secretKind === 'AZURE_CLIENT_SECRET'
      ? `a client secret${certificatePath ? ' (AZURE_CLIENT_CERTIFICATE_PATH is set too: the secret wins)' : ''}`
      : reading
        ? `certificate ${certificatePath} (${reading.summary})`
        : 'a username and password';
  const chosen = `EnvironmentCredential (AZURE_TENANT_ID + AZURE_CLIENT_ID + ${secretKind}): ${what}, tenant ${env.AZURE_TENANT_ID}, client id ${env.AZURE_CLIENT_ID}${authorityOf(env)}${note}`;
  return findingOf(chosen, reading);
}

/** 2. WorkloadIdentityCredential: AKS workload identity, a federated token file exchanged at Entra. */
function workloadIdentityCredential(scope: ChainScope): ReturnType<ChainSource> {
  const { env, narrowed, note, allowed } = scope;
  if (!allowed('WorkloadIdentityCredential'))
    return `WorkloadIdentityCredential: excluded by AZURE_TOKEN_CREDENTIALS=${narrowed}`;
  const clientId = scope.clientId ?? env.AZURE_CLIENT_ID;
  const absent = missing(env, ['AZURE_FEDERATED_TOKEN_FILE', 'AZURE_TENANT_ID']);
  if (!clientId) absent.splice(1, 0, 'AZURE_CLIENT_ID');
  if (absent.length > 0) return `WorkloadIdentityCredential: ${absent.join(', ')} not set`;
  const file = env.AZURE_FEDERATED_TOKEN_FILE as string;
  const reading = readFederatedTokenFile(file, scope.read, scope.nowMs);
  const chosen = `WorkloadIdentityCredential (AZURE_FEDERATED_TOKEN_FILE + AZURE_CLIENT_ID + AZURE_TENANT_ID): token file ${file} (${reading.summary}), client id ${clientId}, tenant ${env.AZURE_TENANT_ID}${authorityOf(env)}${note}`;
  return findingOf(chosen, reading);
}

/** The authority the confidential credentials ask, when the environment names one. */
function authorityOf(env: Env): string {
  return env.AZURE_AUTHORITY_HOST ? `, authority ${env.AZURE_AUTHORITY_HOST} (AZURE_AUTHORITY_HOST)` : '';
}

/** A chosen source whose file is wrong fails the step, with what to fix. */
function findingOf(chosen: string, reading: FileReading | undefined): Omit<CredentialFinding, 'skipped'> {
  if (!reading?.problem) return { ok: true, chosen };
  return { ok: false, chosen: `${chosen}; ${reading.problem}`, hint: reading.hint };
}

const DEVELOPER_LOGINS =
  'developer logins (Visual Studio Code, Azure CLI, Azure PowerShell, Azure Developer CLI)';

/**
 * 3. ManagedIdentityCredential: msal-node picks the source from the environment, first match wins, and
 * IMDS when none does (so it always answers: the developer logins come after it only in the SDK).
 */
function managedIdentityCredential({
  env,
  clientId,
  narrowed,
  note,
  allowed,
}: ChainScope): ReturnType<ChainSource> {
  if (!allowed('ManagedIdentityCredential'))
    return `ManagedIdentityCredential: excluded by AZURE_TOKEN_CREDENTIALS=${narrowed}`;
  const userAssigned = clientId
    ? `, user-assigned client id ${clientId}`
    : env.AZURE_CLIENT_ID
      ? `, user-assigned client id ${env.AZURE_CLIENT_ID} (AZURE_CLIENT_ID)`
      : ', system-assigned';
  const source = managedIdentitySource(env);
  if (source) return { ok: true, chosen: `ManagedIdentityCredential, ${source}${userAssigned}${note}` };
  return {
    ok: true,
    chosen:
      `ManagedIdentityCredential through IMDS at http://169.254.169.254 (no IDENTITY_ENDPOINT, MSI_ENDPOINT or AZURE_POD_IDENTITY_AUTHORITY_HOST: ` +
      `only an Azure VM, scale set or AKS node answers there)${userAssigned}, then ${DEVELOPER_LOGINS}${note}`,
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
