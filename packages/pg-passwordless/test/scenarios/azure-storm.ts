// A storm of throttled answers against the Azure plugin as an app uses it: the connection's password
// function, called again as soon as it fails, for STORM_MS; then the storm ends (the faults the parent
// set are cleared through the emulator's control route) and the next call must succeed. The parent
// counts the token requests the real @azure/identity sent during the storm. One process per run: the
// SDK keeps managed-identity state process-wide. Prints one JSON line of facts, never a token.
// Env: the emulator's, plus SCENARIO_IDENTITY_URL and STORM_MS.
import { classifyFailure } from '../../src/core/failure.ts';
import { setDatabaseConnectionParams } from '../../src/index.ts';

const env = process.env;
const stormMs = Number(env.STORM_MS ?? 10_000);
const params = await setDatabaseConnectionParams(env.DATABASE_URL ?? '');
const password = params.password as () => Promise<string>;

const startedAtMs = Date.now();
// The storm ends on the clock, whatever the caller is waiting for.
const stormEnded = new Promise<number>((resolve) => {
  setTimeout(async () => {
    await fetch(`${env.SCENARIO_IDENTITY_URL}/emulator/faults`, {
      method: 'POST',
      headers: { 'X-Emulator-Secret': env.PG_PASSWORDLESS_EMULATOR_SECRET as string },
      body: '{}',
    });
    resolve(Date.now());
  }, stormMs);
});

let calls = 0;
let failures = 0;
let firstFailure: { afterMs: number; code?: string; status?: number } | undefined;
const retryAfterSeenMs = new Set<number>();
while (Date.now() - startedAtMs < stormMs) {
  calls++;
  try {
    await password();
  } catch (error) {
    failures++;
    const failure = classifyFailure(error);
    firstFailure ??= {
      afterMs: Date.now() - startedAtMs,
      code: (error as { code?: string }).code,
      status: failure.status,
    };
    if (failure.retryAfterMs !== undefined && failure.retryAfterMs >= 1000)
      retryAfterSeenMs.add(Math.round(failure.retryAfterMs / 1000) * 1000);
  }
}
const stormEndedAtMs = await stormEnded;
let recovered = false;
try {
  recovered = (await password()).length > 0;
} catch {
  recovered = false;
}
console.log(
  JSON.stringify({
    startedAtMs,
    stormEndedAtMs,
    calls,
    failures,
    firstFailure,
    retryAfterSeenMs: [...retryAfterSeenMs],
    recovered,
    fetches: params.token?.stats().fetches,
  }),
);
