import { createRequire } from 'node:module';
import { PasswordlessError } from '../../core/errors.ts';
import { failureToError } from '../../core/failure-error.ts';
import { SecretToken } from '../../core/secret.ts';
import type { FetchedToken, FetchOptions, TokenSource } from '../../core/token-source.ts';
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

const HINTS = {
  unavailable:
    'Give the workload an IAM role (ECS task role, EKS pod identity, EC2 instance profile) allowed rds-db:connect, or start `npx pg-passwordless-emulator --cloud aws`.',
  rejected:
    'The credentials endpoint refused the request: check AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE) and the task role.',
  transient:
    'The credentials endpoint is unreachable, throttling or failing; pg-passwordless retries with backoff.',
  config:
    'Set PG_PASSWORDLESS_AWS_REGION or AWS_REGION, or connect with the RDS endpoint name (it contains the region).',
};

/**
 * Signs RDS IAM tokens (a local SigV4 presign: no network unless the credentials need fetching). The
 * credentials come from a provider we hold (the one given, else the SDK's default chain), are resolved
 * first and handed to the Signer, so the token's effective expiry is min(15 minutes, credentials
 * expiry): a token signed with credentials that expire sooner dies with them. `forceRefresh` asks the
 * provider for new credentials (`{ forceRefresh: true }`), so the credentials endpoint is asked again,
 * and signs in a later second than any token before it.
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
  const resolve = async (forceRefresh: boolean): Promise<AwsCredentialsLike> => {
    if (credentials !== undefined)
      return typeof credentials === 'function'
        ? credentials(forceRefresh ? { forceRefresh } : undefined)
        : credentials;
    chain ??= defaultChain();
    return chain.provider(forceRefresh ? { forceRefresh } : undefined);
  };
  return {
    describe,
    async fetchToken(options: FetchOptions = {}): Promise<FetchedToken> {
      chain?.startAttempt();
      try {
        const resolved = await resolve(options.forceRefresh === true);
        // SigV4 dates have whole seconds: re-signed within the second of the refused token, with the same
        // credentials, the token would be the same string. Sign in a later second instead (a timer may
        // fire a little early, hence the loop).
        while (options.forceRefresh && Math.floor(now() / 1000) <= lastSignedSecond) {
          await new Promise((resolve) => setTimeout(resolve, 1001 - (now() % 1000)));
        }
        const signedAtMs = now();
        lastSignedSecond = Math.floor(signedAtMs / 1000);
        const token = await new signerModule.Signer({ ...target, credentials: resolved }).getAuthToken();
        const credentialExpiryMs = resolved.expiration?.getTime() ?? Number.POSITIVE_INFINITY;
        return {
          token: new SecretToken(token),
          expiresAtMs: Math.min(signedAtMs + RDS_TOKEN_LIFETIME_MS, credentialExpiryMs),
        };
      } catch (error) {
        throw failureToError(error, describe(), HINTS, {
          endpointContacted: chain?.reachedContainerEndpoint(),
        });
      }
    },
  };
}

export interface DefaultChain {
  provider: AwsCredentialsProviderLike;
  startAttempt(): void;
  /** Whether the chain got as far as the container credentials endpoint in this attempt. */
  reachedContainerEndpoint(): boolean;
}

/** The AWS SDK's logger interface, the part the providers call. */
interface ChainLogger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** How the SDK builds its default chain (`fromNodeProviderChain` and `defaultProvider` take the same init). */
type ChainFactory = (init: { maxRetries?: number; logger?: ChainLogger }) => AwsCredentialsProviderLike;

/** The signers whose own default chain a token source uses. */
export type AwsSignerPackage = '@aws-sdk/rds-signer' | '@aws-sdk/dsql-signer';

/**
 * Where each signer's default chain comes from: its own dependency. `fromNodeProviderChain` of
 * @aws-sdk/credential-providers is `defaultProvider` of @aws-sdk/credential-provider-node, built lazily.
 */
const CHAIN_OF: Record<AwsSignerPackage, { module: string; factory: string }> = {
  '@aws-sdk/rds-signer': { module: '@aws-sdk/credential-providers', factory: 'fromNodeProviderChain' },
  '@aws-sdk/dsql-signer': { module: '@aws-sdk/credential-provider-node', factory: 'defaultProvider' },
};

/**
 * The default chain of the installed signer (its own dependency, not ours), built as the signer would
 * build it, with two differences:
 * - `maxRetries: 0`: the container provider retries 3 times, 1 s apart, ignoring Retry-After; our retry
 *   layer does that instead. One attempt still sends 2 requests: the chain asks the same
 *   AWS_CONTAINER_CREDENTIALS_FULL_URI through fromHttp, then through fromContainerMetadata.
 * - a logger that notes when the chain reaches the container endpoint: when that endpoint fails, the
 *   chain throws "Could not load credentials from any providers", the status lost, the same words as
 *   "no credentials here". What the logger saw tells the two apart.
 *
 * @example
 * // Inside the aws cloud: the chain of the DSQL signer, as dsqlTokenSource builds it (nothing is fetched yet).
 * const chain = defaultChain('@aws-sdk/dsql-signer');
 * console.log(typeof chain.provider, chain.reachedContainerEndpoint()); // function false
 */
export function defaultChain(signer: AwsSignerPackage = '@aws-sdk/rds-signer'): DefaultChain {
  let reached = false;
  const logger: ChainLogger = {
    debug: (message) => {
      if (message.includes('remoteProvider::fromHttp/fromContainerMetadata')) reached = true;
    },
    info: () => undefined,
    // What the SDK prints with its default logger: warnings about conflicting settings, never secrets.
    warn: (message) => console.warn(message),
    error: () => undefined,
  };
  const { module, factory } = CHAIN_OF[signer];
  let createChain: ChainFactory;
  try {
    const requireFromSigner = createRequire(createRequire(import.meta.url).resolve(signer));
    createChain = (requireFromSigner(module) as Record<string, ChainFactory>)[factory] as ChainFactory;
  } catch (cause) {
    throw new PasswordlessError(
      'PEER_MISSING',
      `The aws plugin needs ${module}, a dependency of ${signer}, and could not load it.`,
      { cause, hint: `Reinstall ${signer} (npm install ${signer}).` },
    );
  }
  return {
    provider: createChain({ maxRetries: 0, logger }),
    startAttempt: () => {
      reached = false;
    },
    reachedContainerEndpoint: () => reached,
  };
}
