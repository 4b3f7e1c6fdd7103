import type { Env } from '../../core/connection-url.ts';

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

/** The `aws` section of the settings (`enabled`, else `PG_PASSWORDLESS_AWS_ENABLED`, switches it on). */
export interface AwsSettings {
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
 */
export function resolveAwsOptions(section: Partial<AwsSettings>, env: Env): AwsSettings {
  return {
    ...section,
    region: section.region ?? (env.PG_PASSWORDLESS_AWS_REGION || undefined),
    signingHost: section.signingHost ?? (env.PG_PASSWORDLESS_AWS_SIGNING_HOST || undefined),
  };
}
