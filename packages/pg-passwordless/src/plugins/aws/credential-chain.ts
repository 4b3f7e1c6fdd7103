import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Env } from '../../core/connection-url.ts';
import { type ChainSource, credentialInCode, firstSource } from '../../core/credential-chain.ts';
import type { CredentialContext, CredentialFinding } from '../../core/doctor-hooks.ts';
import type { AwsSettings } from './options.ts';

const has = (env: Env, name: string) => Boolean(env[name]);
const missing = (env: Env, names: string[]) => names.filter((name) => !has(env, name));

/**
 * Which source of the AWS SDK's default provider chain will give the credentials here, from the
 * environment and the shared files alone: environment keys, profile, web identity, container
 * credentials, EC2 metadata. Variable names are shown; secret values never are.
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
      () => webIdentity(env),
      () => containerCredentials(env),
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

/** fromTokenFile: web identity (EKS IRSA). */
function webIdentity(env: Env): ReturnType<ChainSource> {
  const absent = missing(env, ['AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_ROLE_ARN']);
  if (absent.length > 0) return `web identity: ${absent.join(', ')} not set`;
  return {
    ok: true,
    chosen: `web identity (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN): role ${env.AWS_ROLE_ARN}, token file ${env.AWS_WEB_IDENTITY_TOKEN_FILE}`,
  };
}

/** remoteProvider, first half: container credentials (ECS, EKS Pod Identity). */
function containerCredentials(env: Env): ReturnType<ChainSource> {
  const authorization = has(env, 'AWS_CONTAINER_AUTHORIZATION_TOKEN')
    ? ' with AWS_CONTAINER_AUTHORIZATION_TOKEN'
    : has(env, 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE')
      ? ' with AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE'
      : '';
  if (has(env, 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI')) {
    return {
      ok: true,
      chosen: `container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI): http://169.254.170.2${env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI}${authorization}`,
    };
  }
  if (has(env, 'AWS_CONTAINER_CREDENTIALS_FULL_URI')) {
    return {
      ok: true,
      chosen: `container credentials (AWS_CONTAINER_CREDENTIALS_FULL_URI): ${env.AWS_CONTAINER_CREDENTIALS_FULL_URI}${authorization}`,
    };
  }
  return 'container credentials: AWS_CONTAINER_CREDENTIALS_FULL_URI / _RELATIVE_URI not set';
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
