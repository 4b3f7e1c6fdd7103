import { parseBool, type ResolvedSettings, settingsSection } from '../../core/settings.ts';

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

/** The `aws` section of the settings. */
export interface AwsSettings {
  /** Else `PG_PASSWORDLESS_AWS_ENABLED` (behind the `PG_PASSWORDLESS_ENABLED` gate). */
  enabled?: boolean;
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
 * import { resolveAwsSettings, resolveSettings } from 'pg-passwordless';
 *
 * const settings = resolveSettings({ aws: { enabled: true } }, { PG_PASSWORDLESS_AWS_REGION: 'eu-west-1' });
 * console.log(resolveAwsSettings(settings).region); // eu-west-1
 */
export function resolveAwsSettings(settings: ResolvedSettings): AwsSettings & { enabled: boolean } {
  const section = settingsSection<AwsSettings>(settings, 'aws');
  const { env } = settings;
  return {
    ...section,
    enabled: section.enabled ?? parseBool(env, 'PG_PASSWORDLESS_AWS_ENABLED') ?? false,
    region: section.region ?? (env.PG_PASSWORDLESS_AWS_REGION || undefined),
    signingHost: section.signingHost ?? (env.PG_PASSWORDLESS_AWS_SIGNING_HOST || undefined),
  };
}
