import { PasswordlessError } from '../../core/errors.ts';
import { SecretToken } from '../../core/secret.ts';
import type { AwsCredentialsLike, AwsCredentialsProviderLike } from './settings.ts';
import type { FetchedToken, TokenSource } from '../../core/token-source.ts';

/** An RDS IAM token is accepted for 15 minutes after it was signed. */
export const RDS_TOKEN_LIFETIME_MS = 15 * 60_000;

/** The part of `@aws-sdk/rds-signer` we use. */
export interface RdsSignerModule {
  Signer: new (config: {
    hostname: string;
    port: number;
    username: string;
    region?: string;
    credentials?: AwsCredentialsLike | AwsCredentialsProviderLike;
  }) => { credentials: AwsCredentialsLike | AwsCredentialsProviderLike; getAuthToken(): Promise<string> };
}

export interface RdsTarget {
  hostname: string;
  port: number;
  username: string;
  region: string | undefined;
}

/**
 * Signs RDS IAM tokens (a local SigV4 presign: no network unless the credentials need fetching). The
 * credentials are resolved first, so the token's effective expiry is min(15 minutes, credentials
 * expiry): a token signed with credentials that expire sooner dies with them.
 *
 * @example
 * const source = rdsTokenSource(await import('@aws-sdk/rds-signer'), { hostname, port: 5432, username: 'app_user', region: 'us-east-1' });
 */
export function rdsTokenSource(
  signerModule: RdsSignerModule,
  target: RdsTarget,
  credentials?: AwsCredentialsLike | AwsCredentialsProviderLike,
  now: () => number = Date.now,
): TokenSource {
  // The signer's own credentials wrapper refreshes credentials that expire within 15 minutes.
  const resolver = new signerModule.Signer({ ...target, region: target.region, credentials });
  const describe = () =>
    `RDS IAM signing for ${target.username}@${target.hostname}:${target.port} (region ${target.region ?? 'from the AWS SDK defaults'})`;
  return {
    describe,
    async fetchToken(): Promise<FetchedToken> {
      try {
        const resolved =
          typeof resolver.credentials === 'function' ? await resolver.credentials() : resolver.credentials;
        const signedAtMs = now();
        const token = await new signerModule.Signer({ ...target, credentials: resolved }).getAuthToken();
        const credentialExpiryMs = resolved.expiration?.getTime() ?? Number.POSITIVE_INFINITY;
        return {
          token: new SecretToken(token),
          expiresAtMs: Math.min(signedAtMs + RDS_TOKEN_LIFETIME_MS, credentialExpiryMs),
        };
      } catch (error) {
        throw toPasswordlessError(error, describe());
      }
    },
  };
}

function toPasswordlessError(error: unknown, where: string): PasswordlessError {
  const name = (error as { name?: string } | null)?.name ?? '';
  const message = (error as Error | null)?.message ?? String(error);
  if (/region is missing/i.test(message)) {
    return new PasswordlessError('CONFIG_INVALID', `${where}: no AWS region is configured.`, {
      cause: error,
      hint: 'Set PG_PASSWORDLESS_AWS_REGION or AWS_REGION, or connect with the RDS endpoint name (it contains the region).',
    });
  }
  if (name === 'CredentialsProviderError') {
    return new PasswordlessError(
      'CREDENTIAL_UNAVAILABLE',
      `${where}: no AWS credentials are available: ${message}`,
      {
        cause: error,
        hint: 'Give the workload an IAM role (ECS task role, EKS pod identity, EC2 instance profile) allowed rds-db:connect, or start `pg-passwordless emulator --cloud aws`.',
      },
    );
  }
  return new PasswordlessError('TOKEN_ENDPOINT_FAILED', `${where}: ${message}`, {
    cause: error,
    retryable: true,
    hint: 'Fetching the AWS credentials failed; pg-passwordless retries with backoff.',
  });
}
