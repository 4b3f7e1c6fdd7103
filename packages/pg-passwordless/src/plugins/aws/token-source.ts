import type { TokenSource } from '../../core/token-source.ts';
import type { AwsCredentialsLike, AwsCredentialsProviderLike } from './options.ts';
import { type PresignedTokenKind, presignedTokenSource } from './presigned-token-source.ts';

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
  }) => { getAuthToken(): Promise<string> };
}

export interface RdsTarget {
  hostname: string;
  port: number;
  username: string;
  region: string | undefined;
}

/**
 * Signs RDS IAM tokens (a local SigV4 presign: no network unless the credentials need fetching). The
 * credentials come from a provider we hold (the one given, else the SDK's default chain), are resolved
 * first and handed to the Signer, so the token's effective expiry is min(15 minutes, credentials
 * expiry): a token signed with credentials that expire sooner dies with them (RDS refuses it then, as
 * npgsql/npgsql#5163 found), and the cache refreshes it before. Credentials that expire within the
 * token's 15 minutes are renewed past the provider's cache (see {@link signingCredentials}), so that a
 * token gets its full life whenever the provider can give longer-lived credentials.
 * `forceRefresh` asks the provider for new credentials (`{ forceRefresh: true }`), so the credentials
 * endpoint is asked again, and signs in a later second than any token before it.
 *
 * @example
 * // Inside the aws cloud (its own exports, as a reader of this file sees them):
 * const rdsSigner = await import('@aws-sdk/rds-signer');
 * const { createTokenCache } = await import('pg-passwordless');
 * const source = rdsTokenSource(rdsSigner, {
 *   hostname: 'orders.abc123.us-east-1.rds.amazonaws.com',
 *   port: 5432,
 *   username: 'app_user',
 *   region: 'us-east-1',
 * });
 * const cache = createTokenCache({ source });
 * cache.close();
 */
export function rdsTokenSource(
  signerModule: RdsSignerModule,
  target: RdsTarget,
  credentials?: AwsCredentialsLike | AwsCredentialsProviderLike,
  now: () => number = Date.now,
): TokenSource {
  const kind: PresignedTokenKind = {
    describe: () =>
      `RDS IAM signing for ${target.username}@${target.hostname}:${target.port} (region ${target.region ?? 'from the AWS SDK defaults'})`,
    database: 'RDS',
    signerPackage: '@aws-sdk/rds-signer',
    lifetimeMs: RDS_TOKEN_LIFETIME_MS,
    sign: (resolved) => new signerModule.Signer({ ...target, credentials: resolved }).getAuthToken(),
  };
  return presignedTokenSource(kind, credentials, now);
}
