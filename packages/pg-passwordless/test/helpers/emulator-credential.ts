import type { Emulator } from 'pg-passwordless-emulator';
import { createCacheRegistry } from '../../src/core/cache-registry.ts';
import type { Settings, TokenCredentialLike } from '../../src/index.ts';

/**
 * Any TokenCredential works with the azure plugin: this one has no cache and asks the emulator's App
 * Service endpoint directly (`onCall` counts its calls). The emulator is passed as a getter, since
 * tests start it in `before()`.
 */
export function emulatorCredential(emulator: () => Emulator, onCall?: () => void): TokenCredentialLike {
  return {
    async getToken(scope: string | string[]) {
      onCall?.();
      const { IDENTITY_ENDPOINT, IDENTITY_HEADER } = emulator().env;
      const resource = String(scope).replace(/\/\.default$/, '');
      const response = await fetch(`${IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=${resource}`, {
        headers: { 'X-IDENTITY-HEADER': IDENTITY_HEADER as string },
      });
      const body = (await response.json()) as { access_token: string; expires_on: string };
      return { token: body.access_token, expiresOnTimestamp: Number(body.expires_on) * 1000 };
    },
  };
}

/** Settings for the azure plugin with that credential, the emulator's CA, no environment and fresh caches. */
export function emulatorSettings(emulator: () => Emulator, credential: TokenCredentialLike): Settings {
  return {
    azure: { enabled: true, credential },
    tls: { caFile: emulator().caPath },
    env: {},
    caches: createCacheRegistry(),
  };
}
