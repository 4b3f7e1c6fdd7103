import type { FailureHints } from '../../core/failure-error.ts';
import { SecretToken } from '../../core/secret.ts';
import type { FetchedToken, FetchOptions, TokenSource } from '../../core/token-source.ts';
import { explainCredentialFailure } from './credential-failure.ts';
import { type AwsSignerPackage, type DefaultChain, loadDefaultChain } from './default-chain.ts';
import type { AwsCredentialsLike, AwsCredentialsProviderLike } from './options.ts';
import { expiredCredentials, signingCredentials } from './signing-credentials.ts';

/** What differs between the databases whose tokens are SigV4 presigned URLs (RDS, Aurora DSQL). */
export interface PresignedTokenKind {
  /** The source's description, for messages. */
  describe: () => string;
  /** The database, as messages name it ("RDS", "Aurora DSQL"). */
  database: string;
  /** The signer package whose default chain to build when no credentials are given. */
  signerPackage: AwsSignerPackage;
  /** How long a token is accepted after it was signed. */
  lifetimeMs: number;
  /** Signs one token with resolved credentials. */
  sign: (credentials: AwsCredentialsLike) => Promise<string>;
  /** Hints for credential failures (default: RDS's). */
  hints?: FailureHints;
}

/**
 * A token source for a presigned-token database: the credentials come from a provider we hold (the one
 * given, else the signer's default chain) and are resolved first, so a token's expiry is
 * min(its lifetime, the credentials' expiry). Credentials that expire within a token's lifetime are
 * renewed past the provider's cache ({@link signingCredentials}), expired ones are refused before
 * signing ({@link expiredCredentials}), and `forceRefresh` asks the provider for new credentials and
 * signs in a later second than any token before it. Failures are explained by
 * {@link explainCredentialFailure} (the token file, STS, the container endpoint).
 */
export function presignedTokenSource(
  kind: PresignedTokenKind,
  credentials: AwsCredentialsLike | AwsCredentialsProviderLike | undefined,
  now: () => number,
): TokenSource {
  let chain: DefaultChain | undefined;
  let lastSignedSecond = Number.NEGATIVE_INFINITY;
  const credentialsFor = signingCredentials(
    async (forceRefresh) => {
      const request = forceRefresh ? { forceRefresh } : undefined;
      if (credentials === undefined) {
        chain ??= loadDefaultChain(kind.signerPackage);
        return chain.provider(request);
      }
      return typeof credentials === 'function' ? credentials(request) : credentials;
    },
    kind.lifetimeMs,
    now,
  );
  return {
    describe: kind.describe,
    async fetchToken(options: FetchOptions = {}): Promise<FetchedToken> {
      chain?.startAttempt();
      try {
        const resolved = await credentialsFor(options.forceRefresh === true);
        const credentialExpiryMs = resolved.expiration?.getTime() ?? Number.POSITIVE_INFINITY;
        if (credentialExpiryMs <= now()) {
          const from = credentials === undefined ? (chain?.reached() ?? 'default chain') : 'in code';
          throw expiredCredentials(kind.describe(), resolved, from, kind.database, now);
        }
        // SigV4 dates have whole seconds: re-signed within the second of the refused token, with the same
        // credentials, the token would be the same string. Sign in a later second instead (a timer may
        // fire a little early, hence the loop).
        while (options.forceRefresh && Math.floor(now() / 1000) <= lastSignedSecond) {
          await new Promise((resolve) => setTimeout(resolve, 1001 - (now() % 1000)));
        }
        const signedAtMs = now();
        lastSignedSecond = Math.floor(signedAtMs / 1000);
        const token = await kind.sign(resolved);
        return {
          token: new SecretToken(token),
          expiresAtMs: Math.min(signedAtMs + kind.lifetimeMs, credentialExpiryMs),
        };
      } catch (error) {
        throw await explainCredentialFailure(error, {
          where: kind.describe(),
          reached: chain?.reached(),
          ...(kind.hints ? { hints: kind.hints } : {}),
        });
      }
    },
  };
}
