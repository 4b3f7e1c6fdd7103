import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { EmulatorError } from '../emulator-error.ts';
import type { Route } from '../identity-server.ts';
import { AWS_CREDENTIALS_PATH, containerRoute, podIdentityRoute } from './aws-container-credentials.ts';
import { type CredentialIssuer, createCredentialIssuer } from './aws-credentials.ts';
import { EKS_SERVICE_ACCOUNT_TOKEN, STS_WEB_IDENTITY } from './aws-facts.ts';
import { createEksCluster, type EksCluster, writeTokenFile } from './aws-service-account.ts';
import { STS_PATH, stsRoute } from './aws-sts.ts';
import type { CloudContext } from './cloud.ts';

/** How a workload gets its AWS credentials: ECS-style container credentials, EKS Pod Identity, or IRSA. */
export type AwsCredentialKind = 'container' | 'pod-identity' | 'web-identity';

export interface AwsIdentityOptions {
  /**
   * `container` (default): `AWS_CONTAINER_CREDENTIALS_FULL_URI` + `AWS_CONTAINER_AUTHORIZATION_TOKEN`, as
   * on ECS; `pod-identity`: the EKS Pod Identity agent's endpoint with a service-account token file
   * (`AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`); `web-identity`: IRSA, a token file exchanged at STS
   * (`AWS_WEB_IDENTITY_TOKEN_FILE`, `AWS_ROLE_ARN`, `AWS_ENDPOINT_URL_STS`).
   */
  awsCredential?: AwsCredentialKind;
  /**
   * Lifetime of the credentials handed out: by default 6 h from the container endpoints (as ECS task
   * roles rotate) and `DurationSeconds` or 1 h from STS. Shorter ones let a test see them expire under a
   * live pool (STS itself grants 900 s at least).
   */
  awsCredentialLifetimeSeconds?: number;
  /** The IAM role the workload has (default `arn:aws:iam::000000000000:role/pg-passwordless-emulator`). */
  awsRoleArn?: string;
}

/** The identity side of the AWS emulator, as a test holds it. */
export interface AwsIdentityControls {
  credential: AwsCredentialKind;
  roleArn: string;
  /** The service-account token file the emulator wrote (pod-identity, web-identity). */
  tokenFile: string | undefined;
  /**
   * Writes a new service-account token into the token file, as the kubelet refreshes it: with a
   * lifetime of 0 or less it has already expired; with another audience STS or the agent refuses it.
   */
  writeTokenFile(options?: { lifetimeSeconds?: number; audience?: string }): Promise<void>;
}

/** The credential path the emulator plays: its routes, what a client needs, the issuer the gateway checks. */
export interface AwsIdentity {
  credentials: CredentialIssuer;
  routes: Route[];
  clientEnv(identityUrl: string): Record<string, string>;
  controls: AwsIdentityControls;
}

const DEFAULT_ROLE_ARN = 'arn:aws:iam::000000000000:role/pg-passwordless-emulator';
const CONTAINER_LIFETIME_SECONDS = 6 * 3600;

/**
 * Sets up the credential path of `options.awsCredential`: for the two EKS paths, a cluster whose
 * service-account token the emulator writes to a file in its private folder.
 *
 * @example
 * import { startEmulator } from 'pg-passwordless-emulator';
 *
 * // startEmulator({ cloud: 'aws', awsCredential }) sets the path up through this.
 * const emulator = await startEmulator({ cloud: 'aws', awsCredential: 'web-identity', backend: 'pglite' });
 * console.log(emulator.aws?.credential, emulator.env.AWS_ROLE_ARN === emulator.aws?.roleArn); // web-identity true
 * console.log(emulator.env.AWS_WEB_IDENTITY_TOKEN_FILE === emulator.aws?.tokenFile); // true
 * console.log(emulator.env.AWS_ENDPOINT_URL_STS?.endsWith('/aws/sts')); // true
 * await emulator.stop();
 */
export async function createAwsIdentity(
  context: CloudContext,
  options: AwsIdentityOptions,
  region: string,
): Promise<AwsIdentity> {
  const kind = options.awsCredential ?? 'container';
  const roleArn = roleArnOf(options.awsRoleArn);
  const lifetimeSeconds = options.awsCredentialLifetimeSeconds;
  const credentials = createCredentialIssuer(
    context.now,
    (lifetimeSeconds ??
      (kind === 'web-identity' ? STS_WEB_IDENTITY.defaultDurationSeconds : CONTAINER_LIFETIME_SECONDS)) *
      1000,
  );
  const base = { credentials, roleArn, now: context.now, onIssued: context.onIssued };
  if (kind === 'container') {
    const authorizationToken = randomBytes(24).toString('hex');
    return {
      credentials,
      routes: [containerRoute({ ...base, authorizationToken })],
      clientEnv: (identityUrl) => ({
        AWS_CONTAINER_CREDENTIALS_FULL_URI: `${identityUrl}${AWS_CREDENTIALS_PATH}`,
        AWS_CONTAINER_AUTHORIZATION_TOKEN: authorizationToken,
      }),
      controls: { credential: kind, roleArn, tokenFile: undefined, writeTokenFile: noTokenFile },
    };
  }
  const cluster = await createEksCluster(region);
  const tokens = await serviceAccountTokens(context, cluster, kind);
  const controls = { credential: kind, roleArn, tokenFile: tokens.file, writeTokenFile: tokens.write };
  if (kind === 'pod-identity') {
    return {
      credentials,
      routes: [podIdentityRoute({ ...base, cluster })],
      clientEnv: (identityUrl) => ({
        AWS_CONTAINER_CREDENTIALS_FULL_URI: `${identityUrl}${EKS_SERVICE_ACCOUNT_TOKEN.podIdentityPath}`,
        AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokens.file,
      }),
      controls,
    };
  }
  return {
    credentials,
    routes: [stsRoute({ ...base, cluster, lifetimeSeconds })],
    clientEnv: (identityUrl) => ({
      AWS_WEB_IDENTITY_TOKEN_FILE: tokens.file,
      AWS_ROLE_ARN: roleArn,
      AWS_ENDPOINT_URL_STS: `${identityUrl}${STS_PATH}`,
    }),
    controls,
  };
}

/** The pod's projected token, written where the path's variable points (and rewritten on request). */
async function serviceAccountTokens(
  context: CloudContext,
  cluster: EksCluster,
  kind: 'pod-identity' | 'web-identity',
): Promise<{ file: string; write: AwsIdentityControls['writeTokenFile'] }> {
  const file = join(context.privateFolder(), kind === 'pod-identity' ? 'eks-pod-identity-token' : 'token');
  const audience =
    kind === 'pod-identity'
      ? EKS_SERVICE_ACCOUNT_TOKEN.podIdentityAudience
      : EKS_SERVICE_ACCOUNT_TOKEN.irsaAudience;
  const write: AwsIdentityControls['writeTokenFile'] = async (options = {}) => {
    const token = await cluster.issueToken({
      audience: options.audience ?? audience,
      lifetimeSeconds: options.lifetimeSeconds,
      nowMs: context.now(),
    });
    writeTokenFile(file, token);
  };
  await write();
  return { file, write };
}

/**
 * An IAM role ARN (`arn:<partition>:iam::<12-digit account>:role/<path/name>`), the default when none is
 * given; anything else is refused (CONFIG_INVALID).
 *
 * @example
 * console.log(roleArnOf(undefined)); // arn:aws:iam::000000000000:role/pg-passwordless-emulator
 * console.log(roleArnOf('arn:aws:iam::123456789012:role/service/orders')); // arn:aws:iam::123456789012:role/service/orders
 */
export function roleArnOf(given: string | undefined): string {
  if (given === undefined) return DEFAULT_ROLE_ARN;
  if (/^arn:aws(-[a-z]+)*:iam::\d{12}:role\/[\w+=,.@/-]+$/.test(given)) return given;
  throw new EmulatorError('CONFIG_INVALID', `Not an IAM role ARN: ${JSON.stringify(given)}.`, {
    hint: 'Give one like arn:aws:iam::123456789012:role/orders-api.',
  });
}

async function noTokenFile(): Promise<void> {
  throw new EmulatorError(
    'CONFIG_INVALID',
    'The emulator plays container credentials, which have no token file.',
    { hint: "Start it with awsCredential 'pod-identity' or 'web-identity' (--aws-credential)." },
  );
}
