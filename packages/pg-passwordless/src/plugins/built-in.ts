import type { CloudDefinition } from '../core/cloud.ts';
import { type AwsSettings, awsCloud } from './aws/index.ts';
import { type AzureSettings, azureCloud } from './azure/index.ts';
import { type GcpSettings, gcpCloud } from './gcp/index.ts';

/** The clouds that ship with pg-passwordless, in the order they run (before the user's plugins). */
export const builtInClouds: readonly [
  CloudDefinition<'azure', AzureSettings>,
  CloudDefinition<'aws', AwsSettings>,
  CloudDefinition<'gcp', GcpSettings>,
] = [azureCloud, awsCloud, gcpCloud];

// The settings types of the built-in clouds' sections, for the package entry's `Settings`.
export type { AwsCredentialsLike, AwsCredentialsProviderLike, AwsService, AwsSettings } from './aws/index.ts';
export type { AzureCloud, AzureSettings, TokenCredentialLike } from './azure/index.ts';
export type { GcpSettings, GoogleAuthLike } from './gcp/index.ts';
