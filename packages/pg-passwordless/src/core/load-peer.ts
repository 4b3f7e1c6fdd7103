import { PasswordlessError } from './errors.ts';

/** How a missing peer is to be installed, for the hint. */
export interface LoadPeerOptions {
  /**
   * The peer belongs in devDependencies (the emulator: tests, CI and demos only), so the hint says
   * `npm install --save-dev <package>`, as the README does.
   */
  devDependency?: boolean;
}

/**
 * Imports an optional peer package (an official cloud SDK, a driver, the emulator) only when it is
 * needed, so that an app using one cloud never installs the others. A missing one is PEER_MISSING, with
 * the install command as the hint.
 *
 * @example
 * const { DefaultAzureCredential } = await loadPeer<typeof import('@azure/identity')>('@azure/identity', 'the azure plugin');
 * console.log(typeof DefaultAzureCredential); // function
 * await loadPeer('@example/not-installed', 'the example plugin').catch((error) => {
 *   console.log(error.code, error.hint); // PEER_MISSING Run: npm install @example/not-installed
 * });
 * await loadPeer('@example/test-tool', 'the example test', { devDependency: true }).catch((error) => {
 *   console.log(error.hint); // Run: npm install --save-dev @example/test-tool
 * });
 */
export async function loadPeer<T>(
  packageName: string,
  neededBy: string,
  options: LoadPeerOptions = {},
): Promise<T> {
  try {
    return (await import(packageName)) as T;
  } catch (cause) {
    const code = (cause as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new PasswordlessError(
        'PEER_MISSING',
        `${neededBy} needs the package "${packageName}", which is not installed.`,
        {
          cause,
          hint: `Run: npm install ${options.devDependency ? '--save-dev ' : ''}${packageName}`,
        },
      );
    }
    throw cause;
  }
}
