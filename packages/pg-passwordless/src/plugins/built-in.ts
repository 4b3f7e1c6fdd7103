import { awsCloud } from './aws/index.ts';
import { azureCloud } from './azure/index.ts';
import { gcpCloud } from './gcp/index.ts';

/** The clouds that ship with pg-passwordless, in the order they run (before the user's plugins). */
export const builtInClouds = [azureCloud, awsCloud, gcpCloud] as const;

// The settings types of the built-in clouds' sections, for the package entry's `Settings`.
export type { AwsCredentialsLike, AwsCredentialsProviderLike, AwsSettings } from './aws/index.ts';
export type { AzureCloud, AzureSettings, TokenCredentialLike } from './azure/index.ts';
export type { GcpSettings, GoogleAuthLike } from './gcp/index.ts';
