import { PasswordlessError } from '../../core/errors.ts';
import { CHAIN_SOURCE_LABELS, type ChainSourceName } from './default-chain.ts';
import type { AwsCredentialsLike } from './options.ts';

/** Where the signing credentials came from: a source of the default chain, the chain, or the code. */
export type CredentialOrigin = ChainSourceName | 'default chain' | 'in code';

/**
 * The credentials to sign with, asked for past the provider's cache once those used last expire within
 * a token's life (RDS and Aurora DSQL tokens: 15 minutes). The SDK's providers cache credentials and hand
 * them out until 5 minutes before they expire (credential-provider-node's `credentialsTreatedAsExpired`;
 * within those 5 minutes they answer with the old set and renew it in the background), so a token signed
 * near that end would live only minutes; @aws-sdk/rds-signer's own wrapper (`createCredentialsWrapper`)
 * asks again with `forceRefresh` for the same reason. Asking with `forceRefresh` straight away, rather
 * than after a plain ask, spares the background renewal a plain ask would start: one request per renewal.
 * When that ask fails, the cached set still signs a token that ends with it; a refresh the caller forced
 * (a refused login) fails instead.
 *
 * @example
 * const expiresSoon = { accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'secret', expiration: new Date(Date.now() + 60_000) };
 * const asked: boolean[] = [];
 * const credentialsFor = signingCredentials(async (forceRefresh) => (asked.push(forceRefresh), expiresSoon), 15 * 60_000);
 * await credentialsFor(false);
 * await credentialsFor(false);
 * console.log(asked); // [ false, true ]
 */
export function signingCredentials(
  resolve: (forceRefresh: boolean) => Promise<AwsCredentialsLike>,
  tokenLifetimeMs: number,
  now: () => number = Date.now,
): (forceRefresh: boolean) => Promise<AwsCredentialsLike> {
  let lastExpiryMs = Number.POSITIVE_INFINITY;
  return async (forceRefresh) => {
    const renew = forceRefresh || lastExpiryMs - now() < tokenLifetimeMs;
    const credentials = renew
      ? await resolve(true).catch((error: unknown) => (forceRefresh ? Promise.reject(error) : resolve(false)))
      : await resolve(false);
    lastExpiryMs = credentials.expiration?.getTime() ?? Number.POSITIVE_INFINITY;
    return credentials;
  };
}

/**
 * Credentials that had expired when they came: no token signed with them would pass (`database` names
 * the server that refuses it), so the error says what renews them, by where they came from.
 *
 * @example
 * const stale = { accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'secret', expiration: new Date(Date.now() - 60_000) };
 * const error = expiredCredentials('RDS IAM signing', stale, 'sso', 'RDS');
 * console.log(error.code, error.hint); // CREDENTIAL_UNAVAILABLE Sign in again: aws sso login.
 */
export function expiredCredentials(
  where: string,
  credentials: AwsCredentialsLike,
  from: CredentialOrigin,
  database: string,
  now: () => number = Date.now,
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
    `${where}: the AWS credentials from ${source} expired at ${expiredAt}, ${Math.round((now() - (credentials.expiration?.getTime() ?? 0)) / 1000)} s ago: ${database} refuses a token they sign.`,
    {
      hint:
        from === 'in code'
          ? 'Credentials given as an object cannot renew themselves: give aws.credentials a provider (a function, such as fromNodeProviderChain()) instead.'
          : ((from === 'default chain' ? undefined : hints[from]) ??
            'The endpoint handed out credentials that had already expired: check this machine’s clock (NTP) against the endpoint’s.'),
    },
  );
}
