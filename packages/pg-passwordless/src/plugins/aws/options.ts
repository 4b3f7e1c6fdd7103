import type { Env } from '../../core/connection-url.ts';
import { PasswordlessError } from '../../core/errors.ts';

/** The AWS credentials shape of the AWS SDK (`AwsCredentialIdentity`). */
export interface AwsCredentialsLike {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}
/** A provider of AWS credentials, as the AWS SDK's providers are (they accept `{ forceRefresh }`). */
export type AwsCredentialsProviderLike = (options?: {
  forceRefresh?: boolean;
}) => Promise<AwsCredentialsLike>;

/** The AWS databases that take IAM tokens: RDS and Aurora PostgreSQL (and RDS Proxy), or Aurora DSQL. */
export type AwsService = 'rds' | 'dsql';

const SERVICES: readonly AwsService[] = ['rds', 'dsql'];

/** The `aws` section of the settings (`enabled`, else `PG_PASSWORDLESS_AWS_ENABLED`, switches it on). */
export interface AwsSettings {
  /**
   * Which database the token is for; else PG_PASSWORDLESS_AWS_SERVICE, else `dsql` for an Aurora DSQL
   * endpoint (`<cluster id>.dsql.<region>.on.aws`) and `rds` for any other host.
   */
  service?: AwsService;
  /** The region; else PG_PASSWORDLESS_AWS_REGION, else the one in an RDS host name, else the SDK's default. */
  region?: string;
  /** Credentials or a provider; the SDK's default chain when omitted. */
  credentials?: AwsCredentialsLike | AwsCredentialsProviderLike;
  /** The endpoint to sign for (`host` or `host:port`) when connecting through a custom DNS name; else PG_PASSWORDLESS_AWS_SIGNING_HOST. */
  signingHost?: string;
}

/**
 * The `aws` section with the environment applied: explicit values beat the environment.
 *
 * @example
 * console.log(resolveAwsOptions({}, { PG_PASSWORDLESS_AWS_REGION: 'eu-west-1' }).region); // eu-west-1
 * console.log(resolveAwsOptions({}, { PG_PASSWORDLESS_AWS_SERVICE: 'dsql' }).service); // dsql
 */
export function resolveAwsOptions(section: Partial<AwsSettings>, env: Env): AwsSettings {
  return {
    ...section,
    service: serviceOf(section.service, env.PG_PASSWORDLESS_AWS_SERVICE),
    region: section.region ?? (env.PG_PASSWORDLESS_AWS_REGION || undefined),
    signingHost: section.signingHost ?? (env.PG_PASSWORDLESS_AWS_SIGNING_HOST || undefined),
  };
}

/** The service named in code, else in PG_PASSWORDLESS_AWS_SERVICE; a name of neither is refused. */
function serviceOf(explicit: unknown, fromEnv: string | undefined): AwsService | undefined {
  const named = explicit ?? (fromEnv?.trim().toLowerCase() || undefined);
  if (named === undefined || SERVICES.includes(named as AwsService)) return named as AwsService | undefined;
  const where = explicit === undefined ? 'PG_PASSWORDLESS_AWS_SERVICE' : 'aws.service';
  throw new PasswordlessError(
    'CONFIG_INVALID',
    `${where} is ${JSON.stringify(named)}, not a service of the aws cloud.`,
    {
      hint: 'Use rds (RDS and Aurora PostgreSQL, RDS Proxy) or dsql (Aurora DSQL), or leave it unset: an Aurora DSQL endpoint name (<cluster id>.dsql.<region>.on.aws) chooses dsql.',
    },
  );
}
