import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Env } from '../core/connection-url.ts';

/** Which source of a cloud's default credential chain applies here, and why the others do not. */
export interface CredentialFinding {
  /** False when no source can apply at all (AWS with nothing configured, a missing key file). */
  ok: boolean;
  /** The source that will answer, with the variables that select it (values of secrets never shown). */
  chosen: string;
  /** The sources before it, each with the reason it is skipped. */
  skipped: string[];
  hint?: string;
}

export interface CredentialContext {
  env: Env;
  /** A credential object given in code (`azure.credential`, `aws.credentials`, `gcp.auth`). */
  fromCode?: object;
  /** `PG_PASSWORDLESS_AZURE_CLIENT_ID` or `azure.clientId`: a user-assigned managed identity. */
  clientId?: string;
  fileExists?: (path: string) => boolean;
  readFile?: (path: string) => string;
  home?: string;
}

const has = (env: Env, name: string) => Boolean(env[name]);
const missing = (env: Env, names: string[]) => names.filter((name) => !has(env, name));

/**
 * Tells, from the environment alone, which source of the cloud's default chain will give the token:
 * DefaultAzureCredential (environment, workload identity, managed identity and its source, developer
 * logins), the AWS SDK's default provider chain (environment keys, profile, web identity, container
 * credentials, EC2 metadata) or Google's Application Default Credentials (key file, gcloud login,
 * metadata server). Endpoints and variable names are shown; secret values never are.
 *
 * @example
 * const finding = describeCredentialChain('azure', {
 *   env: { IDENTITY_ENDPOINT: 'http://127.0.0.1:41741/msi/token', IDENTITY_HEADER: 'x' },
 * });
 * console.log(finding.chosen);
 * // ManagedIdentityCredential, App Service source (IDENTITY_ENDPOINT + IDENTITY_HEADER): http://127.0.0.1:41741/msi/token
 * console.log(finding.skipped[0]); // EnvironmentCredential: AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET (or a certificate, or a username) not set
 */
export function describeCredentialChain(
  cloud: 'azure' | 'aws' | 'gcp',
  context: CredentialContext,
): CredentialFinding {
  if (context.fromCode) {
    const name = (context.fromCode as { constructor?: { name?: string } }).constructor?.name;
    return {
      ok: true,
      chosen: `a credential passed in code (${name && name !== 'Object' && name !== 'Function' ? name : 'custom'})`,
      skipped: [],
    };
  }
  if (cloud === 'azure') return azureChain(context);
  if (cloud === 'aws') return awsChain(context);
  return gcpChain(context);
}

function azureChain({ env, clientId }: CredentialContext): CredentialFinding {
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

function awsChain(context: CredentialContext): CredentialFinding {
  const { env } = context;
  const exists = context.fileExists ?? existsSync;
  const read = context.readFile ?? ((path: string) => readFileSync(path, 'utf8'));
  const home = context.home ?? homedir();
  const skipped: string[] = [];
  const profile = env.AWS_PROFILE || 'default';

  // fromEnv: skipped by the chain when a profile is named.
  if (has(env, 'AWS_PROFILE')) {
    skipped.push('environment keys: skipped because AWS_PROFILE is set');
  } else if (has(env, 'AWS_ACCESS_KEY_ID') && has(env, 'AWS_SECRET_ACCESS_KEY')) {
    return {
      ok: true,
      chosen: `environment keys (AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY${has(env, 'AWS_SESSION_TOKEN') ? ' + AWS_SESSION_TOKEN' : ''})`,
      skipped,
    };
  } else {
    skipped.push(
      `environment keys: ${missing(env, ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']).join(', ')} not set`,
    );
  }

  // SSO, shared files, credential_process: the profile in ~/.aws/credentials or ~/.aws/config.
  const files = [
    env.AWS_SHARED_CREDENTIALS_FILE || join(home, '.aws', 'credentials'),
    env.AWS_CONFIG_FILE || join(home, '.aws', 'config'),
  ];
  const section = new RegExp(
    `^\\[\\s*(?:profile\\s+)?${profile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*\\]`,
    'm',
  );
  const withProfile = files.find((file) => {
    try {
      return exists(file) && section.test(read(file));
    } catch {
      return false;
    }
  });
  if (withProfile) {
    return {
      ok: true,
      chosen: `profile "${profile}" from ${withProfile} (SSO, keys, role or credential_process)`,
      skipped,
    };
  }
  skipped.push(`profile "${profile}": not found in ${files.join(' or ')}`);

  // fromTokenFile: web identity (EKS IRSA).
  const webMissing = missing(env, ['AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_ROLE_ARN']);
  if (webMissing.length === 0) {
    return {
      ok: true,
      chosen: `web identity (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN): role ${env.AWS_ROLE_ARN}, token file ${env.AWS_WEB_IDENTITY_TOKEN_FILE}`,
      skipped,
    };
  }
  skipped.push(`web identity: ${webMissing.join(', ')} not set`);

  // remoteProvider: container credentials (ECS, EKS Pod Identity), else EC2 instance metadata.
  const authorization = has(env, 'AWS_CONTAINER_AUTHORIZATION_TOKEN')
    ? ' with AWS_CONTAINER_AUTHORIZATION_TOKEN'
    : has(env, 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE')
      ? ' with AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE'
      : '';
  if (has(env, 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI')) {
    return {
      ok: true,
      chosen: `container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI): http://169.254.170.2${env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI}${authorization}`,
      skipped,
    };
  }
  if (has(env, 'AWS_CONTAINER_CREDENTIALS_FULL_URI')) {
    return {
      ok: true,
      chosen: `container credentials (AWS_CONTAINER_CREDENTIALS_FULL_URI): ${env.AWS_CONTAINER_CREDENTIALS_FULL_URI}${authorization}`,
      skipped,
    };
  }
  skipped.push('container credentials: AWS_CONTAINER_CREDENTIALS_FULL_URI / _RELATIVE_URI not set');
  if (env.AWS_EC2_METADATA_DISABLED?.toLowerCase() === 'true') {
    skipped.push('EC2 instance metadata: AWS_EC2_METADATA_DISABLED=true');
    return {
      ok: false,
      chosen: 'none: no source of the default credential chain applies',
      skipped,
      hint: 'Give the workload an IAM role (ECS task role, EKS pod identity or IRSA, EC2 instance profile), set AWS_PROFILE, or start `npx pg-passwordless-emulator --cloud aws`.',
    };
  }
  return {
    ok: true,
    chosen: `EC2 instance metadata at ${env.AWS_EC2_METADATA_SERVICE_ENDPOINT || 'http://169.254.169.254'} (only an EC2 instance with a profile answers)`,
    skipped,
    hint: 'Off EC2, give the workload an IAM role (ECS task role, EKS pod identity), set AWS_PROFILE, or start `npx pg-passwordless-emulator --cloud aws`.',
  };
}

function gcpChain(context: CredentialContext): CredentialFinding {
  const { env } = context;
  const exists = context.fileExists ?? existsSync;
  const read = context.readFile ?? ((path: string) => readFileSync(path, 'utf8'));
  const skipped: string[] = [];
  const keyFile = env.GOOGLE_APPLICATION_CREDENTIALS;
  if (keyFile) {
    if (!exists(keyFile)) {
      return {
        ok: false,
        chosen: `GOOGLE_APPLICATION_CREDENTIALS=${keyFile}, which does not exist`,
        skipped,
        hint: 'Point GOOGLE_APPLICATION_CREDENTIALS at the credentials JSON file, or unset it to use the metadata server.',
      };
    }
    // The type and the account's email only: the file's keys are never read out.
    let described = 'a credentials file';
    try {
      const json = JSON.parse(read(keyFile)) as { type?: unknown; client_email?: unknown };
      described = `type ${String(json.type ?? 'unknown')}${typeof json.client_email === 'string' ? `, ${json.client_email}` : ''}`;
    } catch {
      described = 'not readable as JSON';
    }
    return { ok: true, chosen: `GOOGLE_APPLICATION_CREDENTIALS=${keyFile} (${described})`, skipped };
  }
  skipped.push('GOOGLE_APPLICATION_CREDENTIALS: not set');
  const gcloudFile = join(
    env.CLOUDSDK_CONFIG || join(context.home ?? homedir(), '.config', 'gcloud'),
    'application_default_credentials.json',
  );
  if (exists(gcloudFile)) {
    return { ok: true, chosen: `gcloud application-default login (${gcloudFile})`, skipped };
  }
  skipped.push(`gcloud application-default login: no ${gcloudFile}`);
  const host = env.GCE_METADATA_IP || env.GCE_METADATA_HOST;
  const detection = env.METADATA_SERVER_DETECTION
    ? `, METADATA_SERVER_DETECTION=${env.METADATA_SERVER_DETECTION}`
    : '';
  if (host) {
    const variable = env.GCE_METADATA_IP ? 'GCE_METADATA_IP' : 'GCE_METADATA_HOST';
    return { ok: true, chosen: `metadata server at ${variable}=${host}${detection}`, skipped };
  }
  return {
    ok: true,
    chosen: `metadata server at 169.254.169.254 (only GCE, GKE, Cloud Run and Cloud Functions answer)${detection}`,
    skipped,
    hint: 'Off GCP, run `gcloud auth application-default login`, set GOOGLE_APPLICATION_CREDENTIALS, or start `npx pg-passwordless-emulator --cloud gcp`.',
  };
}
