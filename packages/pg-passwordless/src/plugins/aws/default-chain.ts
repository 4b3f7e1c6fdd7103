import { createRequire } from 'node:module';
import { PasswordlessError } from '../../core/errors.ts';
import type { AwsCredentialsProviderLike } from './options.ts';

/** The sources of the AWS SDK's default chain, in its order (credential-provider-node's `defaultProvider`). */
export type ChainSourceName =
  | 'environment'
  | 'sso'
  | 'profile'
  | 'process'
  | 'web-identity'
  | 'container'
  | 'instance-metadata';

/** How messages name each source, with the variables that select it. */
export const CHAIN_SOURCE_LABELS: Readonly<Record<ChainSourceName, string>> = {
  environment: 'the environment keys (AWS_ACCESS_KEY_ID)',
  sso: 'AWS IAM Identity Center (SSO)',
  profile: 'the shared profile (~/.aws)',
  process: 'the profile’s credential_process',
  'web-identity': 'web identity (AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN)',
  container: 'the container credentials endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI)',
  'instance-metadata': 'EC2 instance metadata',
};

/** The debug line the chain logs as it tries each source, for the source it names. */
const TRACES: ReadonlyArray<[RegExp, ChainSourceName]> = [
  [/defaultProvider::fromEnv/, 'environment'],
  [/defaultProvider::fromSSO/, 'sso'],
  [/defaultProvider::fromIni/, 'profile'],
  [/defaultProvider::fromProcess/, 'process'],
  [/defaultProvider::fromTokenFile/, 'web-identity'],
  [/remoteProvider::fromHttp\/fromContainerMetadata/, 'container'],
  [/remoteProvider::fromInstanceMetadata/, 'instance-metadata'],
];

/** The SDK's default chain, and which of its sources the current attempt reached last. */
export interface DefaultChain {
  provider: AwsCredentialsProviderLike;
  startAttempt(): void;
  /** The last source the chain tried in this attempt; undefined when it answered from its own cache. */
  reached(): ChainSourceName | undefined;
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
 * The default chain of the installed signer, `@aws-sdk/rds-signer` unless another is named (its own
 * dependency, not ours), built as the signer would build it, with two differences:
 * - `maxRetries: 0`: the container provider retries 3 times, 1 s apart, ignoring Retry-After; our retry
 *   layer does that instead. One attempt still sends 2 requests: the chain asks the same
 *   AWS_CONTAINER_CREDENTIALS_FULL_URI through fromHttp, then through fromContainerMetadata.
 * - a logger that notes which source the chain reached: when the container endpoint fails, the chain
 *   throws "Could not load credentials from any providers", the status lost, the same words as "no
 *   credentials here"; and the source names the file or endpoint a hint should point at.
 *
 * @example
 * // Run where process.env holds what startEmulator({ cloud: 'aws' }) exports: container credentials.
 * const chain = loadDefaultChain();
 * chain.startAttempt();
 * const credentials = await chain.provider();
 * console.log(chain.reached(), credentials.expiration instanceof Date); // container true
 */
export function loadDefaultChain(signer: AwsSignerPackage = '@aws-sdk/rds-signer'): DefaultChain {
  let reached: ChainSourceName | undefined;
  const logger: ChainLogger = {
    debug: (message) => {
      reached = TRACES.find(([pattern]) => pattern.test(String(message)))?.[1] ?? reached;
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
      reached = undefined;
    },
    reached: () => reached,
  };
}
