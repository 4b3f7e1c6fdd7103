import type { FailureHints } from '../../core/failure-error.ts';
import type { TokenSource } from '../../core/token-source.ts';
import type { AwsCredentialsLike, AwsCredentialsProviderLike } from './options.ts';
import { type PresignedTokenKind, presignedTokenSource } from './presigned-token-source.ts';

/**
 * How long an Aurora DSQL token is signed to last: 15 minutes, what the AWS CLI and SDKs sign by default
 * (up to a week is allowed). "Generating an authentication token in Amazon Aurora DSQL",
 * docs.aws.amazon.com/aurora-dsql/latest/userguide/SECTION_authentication-token.html. Signed explicitly,
 * so the expiry the cache keeps is the one in the token whatever the installed SDK's default.
 */
export const DSQL_TOKEN_LIFETIME_SECONDS = 15 * 60;

/**
 * The role Aurora DSQL creates in every cluster. It logs in with a `DbConnectAdmin` token, any other role
 * with a `DbConnect` token; the other kind is refused ("Wrong user to action mapping", "Troubleshooting
 * issues in Aurora DSQL", docs.aws.amazon.com/aurora-dsql/latest/userguide/troubleshooting.html).
 */
export const DSQL_ADMIN_ROLE = 'admin';

/** The IAM action a DSQL token is signed for. */
export type DsqlAction = 'DbConnectAdmin' | 'DbConnect';

/** The part of `@aws-sdk/dsql-signer` we use. */
export interface DsqlSignerModule {
  DsqlSigner: new (config: {
    hostname: string;
    region?: string;
    credentials?: AwsCredentialsLike | AwsCredentialsProviderLike;
    expiresIn?: number;
  }) => { getDbConnectAuthToken(): Promise<string>; getDbConnectAdminAuthToken(): Promise<string> };
}

export interface DsqlTarget {
  /** The cluster endpoint the token is signed for (no port: DSQL signs the host name only). */
  hostname: string;
  /** The role that logs in, which decides the action. */
  username: string;
  region: string | undefined;
}

const HINTS: FailureHints = {
  unavailable:
    'Give the workload an IAM role (ECS task role, EKS Pod Identity or IRSA, EC2 instance profile) allowed dsql:DbConnect on the cluster (dsql:DbConnectAdmin to log in as admin), or start `npx pg-passwordless-emulator --cloud aws --service dsql`.',
  rejected:
    'The credentials endpoint refused the request: check AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE) and the task role.',
  transient:
    'The credentials endpoint is unreachable, throttling or failing; pg-passwordless retries with backoff.',
  config:
    'Set PG_PASSWORDLESS_AWS_REGION or AWS_REGION, or connect with the cluster endpoint name (<cluster id>.dsql.<region>.on.aws: it contains the region).',
};

/**
 * The action a role's token is signed for: `DbConnectAdmin` for `admin`, `DbConnect` for any other role.
 *
 * @example
 * console.log(dsqlAction('admin'), dsqlAction('orders_app')); // DbConnectAdmin DbConnect
 */
export function dsqlAction(username: string): DsqlAction {
  return username === DSQL_ADMIN_ROLE ? 'DbConnectAdmin' : 'DbConnect';
}

/**
 * Signs Aurora DSQL tokens with `@aws-sdk/dsql-signer` (a local SigV4 presign for the service `dsql`: no
 * network unless the credentials need fetching), `DbConnectAdmin` for `admin` and `DbConnect` for any
 * other role. As for RDS, the credentials come from a provider we hold (the one given, else the SDK's
 * default chain, built as the DSQL signer builds it) and are resolved first, so the token's effective
 * expiry is min(15 minutes, credentials expiry): DSQL refuses a token whose signing role has expired
 * even when the token has not. Credentials that expire within the token's 15 minutes are renewed past
 * the provider's cache, and credentials that came expired are refused before signing, as for RDS
 * ({@link signingCredentials}, {@link expiredCredentials}). `forceRefresh` asks the provider for new
 * credentials and signs in a later second than any token before it. Failures to get credentials are
 * explained as for RDS (the token file, STS, the container endpoint), with DSQL's hints.
 *
 * @example
 * // Inside the aws cloud (its own exports, as a reader of this file sees them):
 * const dsqlSigner = await import('@aws-sdk/dsql-signer');
 * const { createTokenCache } = await import('pg-passwordless');
 * const source = dsqlTokenSource(dsqlSigner, {
 *   hostname: 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws',
 *   username: 'admin',
 *   region: 'us-east-1',
 * });
 * console.log(source.describe()); // Aurora DSQL DbConnectAdmin signing for abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws as admin (region us-east-1)
 * const cache = createTokenCache({ source });
 * cache.close();
 */
export function dsqlTokenSource(
  signerModule: DsqlSignerModule,
  target: DsqlTarget,
  credentials?: AwsCredentialsLike | AwsCredentialsProviderLike,
  now: () => number = Date.now,
): TokenSource {
  const action = dsqlAction(target.username);
  const kind: PresignedTokenKind = {
    describe: () =>
      `Aurora DSQL ${action} signing for ${target.hostname} as ${target.username} (region ${target.region ?? 'from the AWS SDK defaults'})`,
    database: 'Aurora DSQL',
    signerPackage: '@aws-sdk/dsql-signer',
    lifetimeMs: DSQL_TOKEN_LIFETIME_SECONDS * 1000,
    sign: (resolved) => sign(signerModule, target, action, resolved),
    hints: HINTS,
  };
  return presignedTokenSource(kind, credentials, now);
}

function sign(
  signerModule: DsqlSignerModule,
  target: DsqlTarget,
  action: DsqlAction,
  credentials: AwsCredentialsLike,
): Promise<string> {
  // The signer spreads its configuration over its defaults: a `region: undefined` would hide the SDK's
  // own region lookup (AWS_REGION, the shared config file), so the key is left out instead.
  const signer = new signerModule.DsqlSigner({
    hostname: target.hostname,
    ...(target.region ? { region: target.region } : {}),
    credentials,
    expiresIn: DSQL_TOKEN_LIFETIME_SECONDS,
  });
  return action === 'DbConnectAdmin' ? signer.getDbConnectAdminAuthToken() : signer.getDbConnectAuthToken();
}
