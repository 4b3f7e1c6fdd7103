import type { Plugin } from '../core/plugin.ts';
import { azurePlugin } from './azure.ts';

/** The plugins that ship with pg-passwordless, in the order they run (before third-party ones). */
export const builtInPlugins: readonly Plugin[] = [azurePlugin];
