import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Env } from '../../core/connection-url.ts';
import { credentialInCode } from '../../core/credential-in-code.ts';
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

