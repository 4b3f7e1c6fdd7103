import { awsCloud } from './aws/index.ts';
import { azureCloud } from './azure/index.ts';
import { gcpCloud } from './gcp/index.ts';

/** The clouds that ship with pg-passwordless, in the order they run (before the user's plugins). */
export const builtInClouds = [azureCloud, awsCloud, gcpCloud] as const;
