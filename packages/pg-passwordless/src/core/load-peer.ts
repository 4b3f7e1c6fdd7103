import { PasswordlessError } from './errors.ts';

/**
 * Imports an optional peer package (an official cloud SDK or a driver) only when it is needed,
 * so that an app using one cloud never installs the others.
 *
 * @example
 * const { DefaultAzureCredential } = await loadPeer<typeof import('@azure/identity')>('@azure/identity', 'the azure plugin');
 * console.log(typeof DefaultAzureCredential); // function
 * await loadPeer('@example/not-installed', 'the example plugin').catch((error) => {
 *   console.log(error.code); // PEER_MISSING
 * });
 */
export async function loadPeer<T>(packageName: string, neededBy: string): Promise<T> {
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
          hint: `Run: npm install ${packageName}`,
        },
      );
    }
    throw cause;
  }
}
