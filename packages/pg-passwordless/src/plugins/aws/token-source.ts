import { PasswordlessError } from '../../core/errors.ts';
import { SecretToken } from '../../core/secret.ts';
import type { FetchedToken, FetchOptions, TokenSource } from '../../core/token-source.ts';
import { explainCredentialFailure } from './credential-failure.ts';
import {
  CHAIN_SOURCE_LABELS,
  type ChainSourceName,
  type DefaultChain,
  loadDefaultChain,
} from './default-chain.ts';
import type { AwsCredentialsLike, AwsCredentialsProviderLike } from './options.ts';

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
  const describe = () =>
    `RDS IAM signing for ${target.username}@${target.hostname}:${target.port} (region ${target.region ?? 'from the AWS SDK defaults'})`;
  let chain: DefaultChain | undefined;
  let lastSignedSecond = Number.NEGATIVE_INFINITY;
  const credentialsFor = signingCredentials(async (forceRefresh) => {
    if (credentials !== undefined)
      return typeof credentials === 'function'
        ? credentials(forceRefresh ? { forceRefresh } : undefined)
        : credentials;
    chain ??= loadDefaultChain();
    return chain.provider(forceRefresh ? { forceRefresh } : undefined);
  }, now);
  return {
    describe,
    async fetchToken(options: FetchOptions = {}): Promise<FetchedToken> {
      chain?.startAttempt();
      try {
        const resolved = await credentialsFor(options.forceRefresh === true);
        const credentialExpiryMs = resolved.expiration?.getTime() ?? Number.POSITIVE_INFINITY;
        if (credentialExpiryMs <= now()) {
          const from = credentials === undefined ? (chain?.reached() ?? 'default chain') : 'in code';
          throw expiredCredentials(describe(), resolved, from, now);
        }
        // SigV4 dates have whole seconds: re-signed within the second of the refused token, with the same
        // credentials, the token would be the same string. Sign in a later second instead (a timer may
        // fire a little early, hence the loop).
        while (options.forceRefresh && Math.floor(now() / 1000) <= lastSignedSecond) {
          await new Promise((resolve) => setTimeout(resolve, 1001 - (now() % 1000)));
        }
        const signedAtMs = now();
        lastSignedSecond = Math.floor(signedAtMs / 1000);
        const token = await new signerModule.Signer({ ...target, credentials: resolved }).getAuthToken();
        return {
          token: new SecretToken(token),
          expiresAtMs: Math.min(signedAtMs + RDS_TOKEN_LIFETIME_MS, credentialExpiryMs),
        };
      } catch (error) {
        throw await explainCredentialFailure(error, { where: describe(), reached: chain?.reached() });
      }
    },
  };
}

/**
 * The credentials to sign with, asked for past the provider's cache once those used last expire within
 * a token's 15 minutes. The SDK's providers cache credentials and hand them out until 5 minutes before
 * they expire (credential-provider-node's `credentialsTreatedAsExpired`; within those 5 minutes they
 * answer with the old set and renew it in the background), so a token signed near that end would live
 * only minutes; @aws-sdk/rds-signer's own wrapper (`createCredentialsWrapper`) asks again with
 * `forceRefresh` for the same reason. Asking with `forceRefresh` straight away, rather than after a
 * plain ask, spares the background renewal a plain ask would start: one request per renewal. When that
 * ask fails, the cached set still signs a token that ends with it; a refresh the caller forced (a
 * refused login) fails instead.
 */
function signingCredentials(
  resolve: (forceRefresh: boolean) => Promise<AwsCredentialsLike>,
  now: () => number,
): (forceRefresh: boolean) => Promise<AwsCredentialsLike> {
  let lastExpiryMs = Number.POSITIVE_INFINITY;
  return async (forceRefresh) => {
    const renew = forceRefresh || lastExpiryMs - now() < RDS_TOKEN_LIFETIME_MS;
    const credentials = renew
      ? await resolve(true).catch((error: unknown) => (forceRefresh ? Promise.reject(error) : resolve(false)))
      : await resolve(false);
    lastExpiryMs = credentials.expiration?.getTime() ?? Number.POSITIVE_INFINITY;
    return credentials;
  };
}

/** Credentials that had expired when they came: no token signed with them would pass. */
function expiredCredentials(
  where: string,
  credentials: AwsCredentialsLike,
  from: ChainSourceName | 'default chain' | 'in code',
  now: () => number,
): PasswordlessError {
  const expiredAt = credentials.expiration?.toISOString() ?? '';
  const source =
    from === 'in code'
      ? 'aws.credentials'
      : from === 'default chain'
        ? 'the default credential chain'
        : CHAIN_SOURCE_LABELS[from];
  const hints: Partial<Record<ChainSourceName, string>> = {
    environment:
      'AWS_SESSION_TOKEN and its keys are temporary (AWS_CREDENTIAL_EXPIRATION says until when): whatever wrote them (aws sso login, aws sts assume-role, a CI step) must write fresh ones, or leave them out and let the default chain find the role.',
    sso: 'Sign in again: aws sso login.',
    profile: 'Refresh the profile’s credentials (aws sso login, or whatever writes ~/.aws/credentials).',
    process: 'The credential_process returned credentials that had expired: fix the process.',
  };
  return new PasswordlessError(
    'CREDENTIAL_UNAVAILABLE',
    `${where}: the AWS credentials from ${source} expired at ${expiredAt}, ${Math.round((now() - (credentials.expiration?.getTime() ?? 0)) / 1000)} s ago: RDS refuses a token they sign.`,
    {
      hint:
        from === 'in code'
          ? 'Credentials given as an object cannot renew themselves: give aws.credentials a provider (a function, such as fromNodeProviderChain()) instead.'
          : ((from === 'default chain' ? undefined : hints[from]) ??
            'The endpoint handed out credentials that had already expired: check this machine’s clock (NTP) against the endpoint’s.'),
    },
  );
}
