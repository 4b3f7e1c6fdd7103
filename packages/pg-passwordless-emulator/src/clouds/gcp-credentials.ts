import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JWTPayload } from 'jose';
import { EmulatorError } from '../emulator-error.ts';
import type { Route } from '../identity-server.ts';
import type { CloudContext } from './cloud.ts';
import {
  createWorkloadIdentityProvider,
  externalAccountFile,
  stsRoutes,
  type WorkloadIdentityProvider,
  writeSubjectTokenFile,
} from './gcp-federation.ts';
import { generateAccessTokenRoutes } from './gcp-impersonation.ts';
import {
  createServiceAccountKey,
  type ServiceAccountKey,
  serviceAccountKeyFile,
  tokenEndpointRoutes,
} from './gcp-key-file.ts';
import { GOOGLE_TOKEN_URL } from './gcp-oauth-facts.ts';
import type { TokenStore } from './gcp-tokens.ts';

/** How a client of the emulated GCP gets its credentials: the `--gcp-credential` choices. */
export type GcpCredential = 'metadata' | 'key-file' | 'external-account';

/** What one way of handing out credentials adds to the cloud: endpoints, files, client variables, controls. */
export interface ClientCredential {
  kind: GcpCredential;
  routes: Route[];
  tunnelHosts?: readonly string[];
  started?(endpoints: { identityUrl: string; secureUrl?: string }): Promise<void> | void;
  env(identityUrl: string): Record<string, string>;
  /** The file GOOGLE_APPLICATION_CREDENTIALS names, once written. */
  file(): string | undefined;
  /** external-account: the file the subject token is in. */
  subjectTokenFile(): string | undefined;
  /** external-account: writes a new subject token, as the platform rotating it would. */
  writeSubjectToken(options?: { audience?: string; lifetimeSeconds?: number }): Promise<void>;
  /** key-file: deletes the key the file holds, as `gcloud iam service-accounts keys delete` would. */
  deleteKey(): void;
  /** external-account: grants or revokes the principal's roles/iam.workloadIdentityUser on the account. */
  allowImpersonation(allowed: boolean): void;
}

/** What every credential of the emulated project shares. */
export interface CredentialContext {
  cloud: CloudContext;
  projectId: string;
  /** The account a key file or an impersonation is for (the first service account). */
  serviceAccount: string;
  tokens: TokenStore;
  lifetimeSeconds: () => number;
}

const notThisCredential = (kind: GcpCredential, what: string) => (): never => {
  throw new EmulatorError('CONFIG_INVALID', `${what} is for another --gcp-credential than ${kind}.`, {
    hint: 'Start the emulator with the credential the control belongs to (gcpCredential in startEmulator).',
  });
};

/** The parts a credential does not have: each control throws, naming the credential in use. */
function without(kind: GcpCredential): Omit<ClientCredential, 'kind' | 'routes' | 'env'> {
  return {
    file: () => undefined,
    subjectTokenFile: () => undefined,
    writeSubjectToken: async () => notThisCredential(kind, 'writeSubjectToken')(),
    deleteKey: notThisCredential(kind, 'deleteKey'),
    allowImpersonation: notThisCredential(kind, 'allowImpersonation'),
  };
}

/**
 * The metadata server (GCE, GKE, Cloud Run): `GCE_METADATA_HOST` names the emulator, and its routes are
 * always served.
 *
 * @example
 * const credential = metadataCredential('shop');
 * console.log(credential.env('http://127.0.0.1:8080').GCE_METADATA_HOST); // 127.0.0.1:8080
 */
export function metadataCredential(projectId: string): ClientCredential {
  return {
    kind: 'metadata',
    routes: [],
    ...without('metadata'),
    env: (identityUrl) => ({
      GCE_METADATA_HOST: identityUrl.replace(/^http:\/\//, ''),
      METADATA_SERVER_DETECTION: 'assume-present',
      GOOGLE_CLOUD_PROJECT: projectId,
    }),
  };
}

/**
 * A service-account key file whose `token_uri` is the emulator's token endpoint. google-auth-library
 * (10.9) reads no `token_uri`: its JWT client posts every assertion to the `GOOGLE_TOKEN_URL` constant,
 * `https://oauth2.googleapis.com/token` (build/src/gtoken/getToken.js, lines 19 and 30; the `aud` it signs
 * is the same constant, jwsSign.js lines 22 and 33; `JWT.fromJSON`, jwtclient.js lines 226-243, keeps
 * no `token_uri`). Its HTTP client, gaxios, takes a proxy from `HTTPS_PROXY` (gaxios 7.3, build/cjs/src/gaxios.js lines 379-383): the
 * emulator's identity port is that proxy, tunnelling only `oauth2.googleapis.com:443` to its own token
 * endpoint, under a certificate its CA signed for that name. SDKs that honour `token_uri` go there
 * directly, over HTTPS.
 *
 * @example
 * import { startEmulator } from 'pg-passwordless-emulator';
 *
 * const emulator = await startEmulator({ cloud: 'gcp', backend: 'pglite', gcpCredential: 'key-file' });
 * console.log(emulator.env.GOOGLE_APPLICATION_CREDENTIALS === emulator.gcp?.credentialFile()); // true
 * console.log(emulator.env.HTTPS_PROXY === emulator.identityUrl); // true
 * await emulator.stop();
 */
export function keyFileCredential(context: CredentialContext): ClientCredential {
  const keys = new Map<string, ServiceAccountKey[]>();
  const key = createServiceAccountKey(context.serviceAccount);
  keys.set(key.email, [key]);
  let file: string | undefined;
  return {
    kind: 'key-file',
    ...without('key-file'),
    routes: tokenEndpointRoutes({
      keysOf: (email) => keys.get(email),
      tokens: context.tokens,
      now: context.cloud.now,
      lifetimeSeconds: context.lifetimeSeconds,
      onIssued: context.cloud.onIssued,
    }),
    tunnelHosts: [new URL(GOOGLE_TOKEN_URL).hostname],
    started: ({ secureUrl }) => {
      file = join(context.cloud.privateFolder(), 'service-account-key.json');
      const json = serviceAccountKeyFile(key, {
        projectId: context.projectId,
        tokenUri: `${secureUrl}/token`,
      });
      writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`, { mode: 0o600 });
    },
    env: (identityUrl) => ({
      GOOGLE_APPLICATION_CREDENTIALS: file ?? '',
      HTTPS_PROXY: identityUrl,
      NO_PROXY: 'localhost,127.0.0.1,::1,[::1]',
      // Not a Google VM: no metadata server to probe.
      METADATA_SERVER_DETECTION: 'none',
      GOOGLE_CLOUD_PROJECT: context.projectId,
    }),
    file: () => file,
    deleteKey: () => keys.set(key.email, []),
  };
}

/**
 * Workload identity federation: an `external_account` file whose `token_url` (STS) and
 * `service_account_impersonation_url` (IAM Credentials) are the emulator's, and a subject token file a
 * Kubernetes-like issuer signed. google-auth-library honours both URLs as written
 * (build/src/auth/baseexternalclient.js: `token_url` lines 113-115, `service_account_impersonation_url` lines
 * 118 and 419; 10.9 checks neither host), so no proxy is
 * involved.
 *
 * @example
 * import { startEmulator } from 'pg-passwordless-emulator';
 *
 * const emulator = await startEmulator({ cloud: 'gcp', backend: 'pglite', gcpCredential: 'external-account' });
 * const { readFileSync } = await import('node:fs');
 * const file = JSON.parse(readFileSync(emulator.env.GOOGLE_APPLICATION_CREDENTIALS ?? '', 'utf8')) as { type: string };
 * console.log(file.type); // external_account
 * await emulator.stop();
 */
export async function externalAccountCredential(context: CredentialContext): Promise<ClientCredential> {
  const provider = await createWorkloadIdentityProvider('271828182845');
  let impersonationAllowed = true;
  let file: string | undefined;
  let tokenFile: string | undefined;
  const writeSubjectToken = async (claims: { audience?: string; lifetimeSeconds?: number } = {}) => {
    if (!tokenFile) return;
    await writeSubjectTokenFile(tokenFile, provider, subjectToken(context, claims));
  };
  return {
    kind: 'external-account',
    ...without('external-account'),
    routes: federationRoutes(
      context,
      provider,
      (principal, account) =>
        impersonationAllowed && principal === provider.principal && account === context.serviceAccount,
    ),
    started: async ({ secureUrl }) => {
      const folder = context.cloud.privateFolder();
      tokenFile = join(folder, 'subject-token.jwt');
      await writeSubjectToken();
      file = join(folder, 'external-account.json');
      const json = externalAccountFile({
        audience: provider.resourceName,
        subjectTokenFile: tokenFile,
        origin: secureUrl ?? '',
        serviceAccount: context.serviceAccount,
      });
      writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`, { mode: 0o600 });
    },
    env: () => ({
      GOOGLE_APPLICATION_CREDENTIALS: file ?? '',
      METADATA_SERVER_DETECTION: 'none',
      GOOGLE_CLOUD_PROJECT: context.projectId,
    }),
    file: () => file,
    subjectTokenFile: () => tokenFile,
    writeSubjectToken,
    allowImpersonation: (allowed) => {
      impersonationAllowed = allowed;
    },
  };
}

function subjectToken(
  context: CredentialContext,
  claims: { audience?: string; lifetimeSeconds?: number },
): { nowMs: number; lifetimeSeconds: number; claims?: JWTPayload } {
  return {
    nowMs: context.cloud.now(),
    lifetimeSeconds: claims.lifetimeSeconds ?? context.lifetimeSeconds(),
    ...(claims.audience ? { claims: { aud: claims.audience } } : {}),
  };
}

function federationRoutes(
  context: CredentialContext,
  provider: WorkloadIdentityProvider,
  mayImpersonate: (principal: string, serviceAccount: string) => boolean,
): Route[] {
  const { cloud, tokens } = context;
  return [
    ...stsRoutes({
      provider,
      tokens,
      now: cloud.now,
      lifetimeSeconds: context.lifetimeSeconds,
      onIssued: cloud.onIssued,
    }),
    ...generateAccessTokenRoutes({
      mayImpersonate,
      tokens,
      now: cloud.now,
      lifetimeSeconds: cloud.tokenLifetimeSeconds,
      onIssued: cloud.onIssued,
    }),
  ];
}
