import { type AwsControls, type AwsOptions, createAwsCloud } from './aws.ts';
import { type AzureControls, type AzureOptions, createAzureCloud } from './azure.ts';
import type { CloudContext, CloudName, EmulatedCloud } from './cloud.ts';
import type { DsqlOptions } from './dsql.ts';
import { createGcpCloud, type GcpControls, type GcpOptions } from './gcp.ts';

/** The cloud being played, and the handles of its own kind (only the played cloud's is set). */
export interface PlayedCloud {
  cloud: EmulatedCloud;
  azure?: AzureControls;
  aws?: AwsControls;
  gcp?: GcpControls;
}

/**
 * Sets up the named cloud: its identity endpoints, its login check and the roles its principals log in
 * as, on the context's backend.
 *
 * @example
 * import { startEmulator } from 'pg-passwordless-emulator';
 *
 * // startEmulator plays the cloud it is given through this; only that cloud's handles are set.
 * const emulator = await startEmulator({ cloud: 'gcp', backend: 'pglite' });
 * console.log(emulator.cloud, emulator.gcp !== undefined, emulator.aws); // gcp true undefined
 * await emulator.stop();
 */
export async function createCloud(
  name: CloudName,
  context: CloudContext,
  options: AzureOptions & AwsOptions & DsqlOptions & GcpOptions,
): Promise<PlayedCloud> {
  switch (name) {
    case 'azure': {
      const azure = await createAzureCloud(context, options);
      return { cloud: azure, azure };
    }
    case 'aws': {
      const aws = await createAwsCloud(context, options);
      return { cloud: aws, aws };
    }
    case 'gcp': {
      const gcp = await createGcpCloud(context, options);
      return { cloud: gcp, gcp };
    }
  }
}
