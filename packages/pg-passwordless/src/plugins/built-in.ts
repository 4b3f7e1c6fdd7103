import type { Plugin } from '../core/contract.ts';
import { awsPlugin } from './aws/plugin.ts';
import { azurePlugin } from './azure/plugin.ts';
import { gcpPlugin } from './gcp/plugin.ts';

/** The plugins that ship with pg-passwordless, in the order they run (before third-party ones). */
export const builtInPlugins: readonly Plugin[] = [azurePlugin, awsPlugin, gcpPlugin];
