// One failing cold fetch per process, through the real SDK of one cloud and our token cache, against an
// emulator whose faults the parent set (the Azure SDK keeps managed-identity state process-wide).
// Then the faults are cleared through the emulator's control route and the next fetch must succeed.
// Prints one JSON line of facts (times, codes, statuses), never a token.
// Usage: identity-faults.ts <azure|azure-mi|aws|gcp>   env: the emulator's, plus SCENARIO_IDENTITY_URL.
import { inspect } from 'node:util';
import { PasswordlessError } from '../../src/core/errors.ts';
import { classifyFailure } from '../../src/core/failure.ts';
import { createTokenCache } from '../../src/core/token-cache.ts';
import type { TokenSource } from '../../src/core/token-source.ts';
import { realTokenSource } from './real-token-source.ts';

const cloud = process.argv[2] as 'azure' | 'azure-mi' | 'aws' | 'gcp';
const env = process.env;

const source = await realTokenSource(cloud, env);
// Our retry layer's attempts, to tell them from the SDK's own retries in the emulator's request log.
const attemptsAtMs: number[] = [];
const counted: TokenSource = {
  describe: () => source.describe(),
  fetchToken: (options) => {
    attemptsAtMs.push(Date.now());
    return source.fetchToken(options);
  },
};
const cache = createTokenCache({ source: counted });

const startedAtMs = Date.now();
let failure: Record<string, unknown> = { failed: false };
let token = '';
try {
  token = await cache.getToken();
} catch (error) {
  const classified = classifyFailure(error);
  failure = {
    failed: true,
    passwordlessError: error instanceof PasswordlessError,
    code: (error as PasswordlessError).code,
    retryable: (error as PasswordlessError).retryable,
    reason: classified.reason,
    status: classified.status,
    networkCode: classified.networkCode,
    sdkRetries: classified.sdkRetries,
    message: (error as Error).message.split('\n')[0],
    inspectLength: inspect(error, { showHidden: true, depth: 8 }).length,
  };
}
const failedAtMs = Date.now();

await fetch(`${env.SCENARIO_IDENTITY_URL}/emulator/faults`, {
  method: 'POST',
  headers: { 'X-Emulator-Secret': env.PG_PASSWORDLESS_EMULATOR_SECRET as string },
  body: '{}',
});
let recovered = false;
try {
  recovered = (await cache.getToken()).length > 0;
} catch (error) {
  failure.recoveryError = (error as Error).message.split('\n')[0];
}
cache.close();
console.log(
  JSON.stringify({
    ...failure,
    firstFetchSucceeded: token.length > 0,
    startedAtMs,
    failedAtMs,
    elapsedMs: failedAtMs - startedAtMs,
    attemptsAtMs,
    recovered,
  }),
);
