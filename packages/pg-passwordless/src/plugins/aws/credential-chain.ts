import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Env } from '../../core/connection-url.ts';
import { type ChainSource, credentialInCode, firstSource } from '../../core/credential-chain.ts';
import type { CredentialContext, CredentialFinding } from '../../core/doctor-hooks.ts';
import type { AwsSettings } from './options.ts';
import { readTokenFile } from './service-account-token.ts';

const has = (env: Env, name: string) => Boolean(env[name]);
const missing = (env: Env, names: string[]) => names.filter((name) => !has(env, name));

/**
 * Which source of the AWS SDK's default provider chain will give the credentials here, from the
 * environment and the shared files alone: environment keys, profile, web identity (IRSA), container
 * credentials (ECS, EKS Pod Identity), EC2 metadata. For the two EKS sources, the role or endpoint, the
 * token file and what its token says (subject, audience, issuer, expiry), or why the SDK will fail on
 * it (missing, unreadable, expired). Variable names are shown; secret values and tokens never are.
 *
 * @example
 * const finding = describeAwsCredential({ env: { AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://127.0.0.1:41741/creds' }, options: {} });
 * console.log(finding.chosen); // container credentials (AWS_CONTAINER_CREDENTIALS_FULL_URI): http://127.0.0.1:41741/creds
 */
export function describeAwsCredential(context: CredentialContext<AwsSettings>): CredentialFinding {
  if (context.options.credentials) return credentialInCode(context.options.credentials);
  const { env } = context;
  return firstSource(
    [
      () => environmentKeys(env),
      () => sharedProfile(context),
      () => webIdentity(context),
      () => containerCredentials(context),
      () => instanceMetadata(env),
    ],
    {
      ok: false,
      chosen: 'none: no source of the default credential chain applies',
      hint: 'Give the workload an IAM role (ECS task role, EKS pod identity or IRSA, EC2 instance profile), set AWS_PROFILE, or start `npx pg-passwordless-emulator --cloud aws`.',
    },
  );
}

/** fromEnv: skipped by the chain when a profile is named. */
function environmentKeys(env: Env): ReturnType<ChainSource> {
  if (has(env, 'AWS_PROFILE')) return 'environment keys: skipped because AWS_PROFILE is set';
  const absent = missing(env, ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']);
  if (absent.length > 0) return `environment keys: ${absent.join(', ')} not set`;
  return {
    ok: true,
    chosen: `environment keys (AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY${has(env, 'AWS_SESSION_TOKEN') ? ' + AWS_SESSION_TOKEN' : ''})`,
  };
}

/** SSO, shared files, credential_process: the profile in ~/.aws/credentials or ~/.aws/config. */
function sharedProfile(context: CredentialContext<AwsSettings>): ReturnType<ChainSource> {
  const { env } = context;
  const exists = context.fileExists ?? existsSync;
  const read = context.readFile ?? ((path: string) => readFileSync(path, 'utf8'));
  const home = context.home ?? homedir();
  const profile = env.AWS_PROFILE || 'default';
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
  if (!withProfile) return `profile "${profile}": not found in ${files.join(' or ')}`;
  return {
    ok: true,
    chosen: `profile "${profile}" from ${withProfile} (SSO, keys, role or credential_process)`,
  };
}

/**
 * fromTokenFile: web identity (EKS IRSA), with both variables set. The SDK reads the file itself and
 * stops at an error there (it does not fall through to the next source), so a missing, unreadable or
 * expired token is this source's failure.
 */
function webIdentity(context: CredentialContext<AwsSettings>): ReturnType<ChainSource> {
  const { env } = context;
  const absent = missing(env, ['AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_ROLE_ARN']);
  if (absent.length > 0) return `web identity: ${absent.join(', ')} not set`;
  const file = env.AWS_WEB_IDENTITY_TOKEN_FILE as string;
  const extras = [
    ...(env.AWS_ROLE_SESSION_NAME ? [`session ${env.AWS_ROLE_SESSION_NAME}`] : []),
    ...(env.AWS_ENDPOINT_URL_STS ? [`STS at ${env.AWS_ENDPOINT_URL_STS} (AWS_ENDPOINT_URL_STS)`] : []),
  ];
  const chosen = `web identity (IRSA: AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN): role ${env.AWS_ROLE_ARN}, token file ${file}`;
  return tokenFileFinding(chosen, extras, file, context, {
    audience: 'sts.amazonaws.com',
    refusal: 'STS refuses it (ExpiredTokenException)',
    mountHint:
      'IRSA mounts the projected token in pods whose service account has the eks.amazonaws.com/role-arn annotation: check the annotation, the volume, and the path in AWS_WEB_IDENTITY_TOKEN_FILE.',
  });
}

/** remoteProvider, first half: container credentials (ECS, EKS Pod Identity). */
function containerCredentials(context: CredentialContext<AwsSettings>): ReturnType<ChainSource> {
  const { env } = context;
  const tokenFile = env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE;
  // fromHttp takes the token file over the token when both are set (credential-provider-http).
  const authorization = tokenFile
    ? ` with AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE ${tokenFile}`
    : has(env, 'AWS_CONTAINER_AUTHORIZATION_TOKEN')
      ? ' with AWS_CONTAINER_AUTHORIZATION_TOKEN'
      : '';
  const uri = env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
    ? {
        variable: 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
        url: `http://169.254.170.2${env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI}`,
      }
    : env.AWS_CONTAINER_CREDENTIALS_FULL_URI
      ? { variable: 'AWS_CONTAINER_CREDENTIALS_FULL_URI', url: env.AWS_CONTAINER_CREDENTIALS_FULL_URI }
      : undefined;
  if (!uri) return 'container credentials: AWS_CONTAINER_CREDENTIALS_FULL_URI / _RELATIVE_URI not set';
  // The EKS Pod Identity agent listens on 169.254.170.23 / [fd00:ec2::23] and wants the token file.
  const podIdentity = tokenFile !== undefined || /\/\/(169\.254\.170\.23|\[fd00:ec2::23\])[:/]/.test(uri.url);
  const kind = podIdentity ? 'EKS Pod Identity' : 'container credentials';
  const chosen = `${kind} (${uri.variable}): ${uri.url}${authorization}`;
  if (!tokenFile) return { ok: true, chosen };
  return tokenFileFinding(chosen, [], tokenFile, context, {
    audience: 'pods.eks.amazonaws.com',
    refusal: 'the Pod Identity agent refuses it (token is expired)',
    mountHint:
      'EKS Pod Identity mounts the token in pods whose service account has a pod identity association: check the association (aws eks list-pod-identity-associations), the volume, and the path in AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE.',
  });
}

/** A source that reads a service-account token file: what the file holds, or why the SDK will fail on it. */
function tokenFileFinding(
  chosen: string,
  extras: string[],
  file: string,
  context: CredentialContext<AwsSettings>,
  expect: { audience: string; refusal: string; mountHint: string },
): ReturnType<ChainSource> {
  const reading = readTokenFile(file, context);
  const tail = extras.length > 0 ? `; ${extras.join('; ')}` : '';
  if (reading.state === 'missing')
    return { ok: false, chosen: `${chosen}: the token file does not exist${tail}`, hint: expect.mountHint };
  if (reading.state === 'unreadable')
    return {
      ok: false,
      chosen: `${chosen}: the token file cannot be read (${reading.reason})${tail}`,
      hint: `Let this user read ${file}. ${expect.mountHint}`,
    };
  if (!reading.jwt) return { ok: true, chosen: `${chosen} (not a JWT)${tail}` };
  const described = `${chosen} (${reading.summary})${tail}`;
  if (reading.expiresAtMs !== undefined && reading.expiresAtMs <= Date.now())
    return {
      ok: false,
      chosen: described,
      hint: `The token in ${file} has expired and ${expect.refusal}: the kubelet rewrites a projected token before it expires, so a copied file, or one from a volume that is not projected, goes stale.`,
    };
  const audiences = reading.audience?.split(' ') ?? [];
  return audiences.includes(expect.audience)
    ? { ok: true, chosen: described }
    : {
        ok: true,
        chosen: described,
        hint: `The token's audience is not ${expect.audience}, the one EKS projects for this source: it is refused unless the other side was set up for that audience.`,
      };
}

/** remoteProvider, second half: EC2 instance metadata, the chain's last source. */
function instanceMetadata(env: Env): ReturnType<ChainSource> {
  if (env.AWS_EC2_METADATA_DISABLED?.toLowerCase() === 'true')
    return 'EC2 instance metadata: AWS_EC2_METADATA_DISABLED=true';
  return {
    ok: true,
    chosen: `EC2 instance metadata at ${env.AWS_EC2_METADATA_SERVICE_ENDPOINT || 'http://169.254.169.254'} (only an EC2 instance with a profile answers)`,
    hint: 'Off EC2, give the workload an IAM role (ECS task role, EKS pod identity), set AWS_PROFILE, or start `npx pg-passwordless-emulator --cloud aws`.',
  };
}
