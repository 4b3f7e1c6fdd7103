// One failing GCP token fetch with the real google-auth-library, in its own process (the SDK reads the
// credentials file from the environment): once straight from the SDK, once through the plugin's token
// source and the token cache. Prints the cache's error code and message, and for each error whether
// SCENARIO_SECRET (a credential the failed request carried) can be found in it: its message, stack,
// JSON or `inspect` output (showHidden), through its whole cause chain.
import { inspect } from 'node:util';
import { GoogleAuth } from 'google-auth-library';
import { createTokenCache } from '../../src/index.ts';
import { readGoogleCredentialFile } from '../../src/plugins/gcp/credential-file.ts';
import { GCP_SERVICES, gcpTokenSource } from '../../src/plugins/gcp/token-source.ts';

const secret = process.env.SCENARIO_SECRET ?? '';
const scopes = [GCP_SERVICES.cloudsql.scope];

function holdsSecret(error: unknown): boolean {
  for (let node: unknown = error, depth = 0; node && depth < 10; depth++) {
    const texts = [
      String(node),
      (node as Error).stack ?? '',
      JSON.stringify(node) ?? '',
      inspect(node, { showHidden: true, depth: 12 }),
    ];
    if (secret !== '' && texts.some((text) => text.includes(secret))) return true;
    node = (node as Error).cause;
  }
  return false;
}

async function errorOf(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  return undefined;
}

const sdkError = await errorOf(async () => (await new GoogleAuth({ scopes }).getClient()).getAccessToken());
const file = readGoogleCredentialFile(process.env.GOOGLE_APPLICATION_CREDENTIALS ?? '');
const cache = createTokenCache({
  source: gcpTokenSource(new GoogleAuth({ scopes }), { ...(file ? { file } : {}) }),
});
const error = (await errorOf(() => cache.getToken())) as { code?: string; message?: string } | undefined;
cache.close();
console.log(
  JSON.stringify({
    sdkFailed: sdkError !== undefined,
    sdkHoldsSecret: holdsSecret(sdkError),
    code: error?.code,
    message: error?.message,
    holdsSecret: holdsSecret(error),
  }),
);
