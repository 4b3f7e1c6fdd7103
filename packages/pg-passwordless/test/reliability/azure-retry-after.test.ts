// Retry-After on Azure, with the real @azure/identity: a 10 s storm of 429 while an app keeps asking
// for a connection's password (test/scenarios/azure-storm.ts). The SDK's errors drop the header; the
// library reads it from the answers its HTTP client saw, waits it out across fetches, and backs off
// exponentially where no header comes. Counted: the 429s the emulator answered (its fault counter),
// that is what the SDK sent during the storm, and nothing of the control API. A slow machine only
// sends fewer requests and waits longer, so the bounds below hold however busy it is.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Emulator, type Faults, startEmulator } from 'pg-passwordless-emulator';
import { runScenario } from '../helpers/run-scenario.ts';

interface StormOutcome {
  startedAtMs: number;
  stormEndedAtMs: number;
  calls: number;
  failures: number;
  retryAfterSeenMs: number[];
  recovered: boolean;
}

const STORM_MS = 10_000;
/** The goal: at most this many identity requests in the storm (today's 1 s floor drew about 10). */
const MOST_REQUESTS = 5;

/** Runs the storm against `emulator` with `faults`; answers the outcome, the 429s sent, and when they came. */
async function storm(emulator: Emulator, faults: Faults, tokenPath: RegExp) {
  const throttledBefore = emulator.counters().faultsInjected;
  emulator.setFaults(faults);
  const result = await runScenario(
    'azure-storm.ts',
    [],
    { ...emulator.env, SCENARIO_IDENTITY_URL: emulator.identityUrl, STORM_MS: String(STORM_MS) },
    60_000,
  );
  emulator.clearFaults();
  assert.equal(result.code, 0, result.stderr);
  const outcome = result.output as unknown as StormOutcome;
  const throttled = emulator.counters().faultsInjected - throttledBefore;
  const atMs = emulator
    .identityRequests()
    .filter((request) => tokenPath.test(request.path))
    .map((request) => request.atMs)
    .filter((at) => at >= outcome.startedAtMs && at <= outcome.stormEndedAtMs);
  return { outcome, throttled, atMs };
}

/** The gaps between consecutive requests. */
const gapsOf = (atMs: number[]) => atMs.slice(1).map((at, index) => at - (atMs[index] as number));

describe('Retry-After on Azure, the real SDK in a 10 s storm of 429', { concurrency: 2 }, () => {
  describe('managed identity (App Service endpoint)', { concurrency: 1 }, () => {
    let emulator: Emulator;
    before(async () => {
      emulator = await startEmulator();
    });
    after(() => emulator?.stop());

    it(`Retry-After: 3 is honoured across fetches: at most ${MOST_REQUESTS} requests, 3 s apart, and the next call after the storm succeeds`, async () => {
      const { outcome, throttled, atMs } = await storm(
        emulator,
        { status: 429, retryAfterSeconds: 3 },
        /\/msi\/token/,
      );
      assert.ok(throttled >= 2 && throttled <= MOST_REQUESTS, `${throttled} requests in the storm`);
      assert.equal(atMs.length, throttled, 'every request in the storm was throttled');
      for (const gap of gapsOf(atMs))
        assert.ok(gap >= 3000, `a request ${gap} ms after a 429 with Retry-After: 3`);
      assert.deepEqual(outcome.retryAfterSeenMs, [3000], 'the caller’s errors carry the Retry-After');
      assert.ok(outcome.failures >= 1);
      assert.equal(outcome.recovered, true);
    });

    it('no Retry-After: the waits double (1 s, 2 s, 4 s...), at most 5 requests', async () => {
      const { outcome, throttled, atMs } = await storm(emulator, { status: 429 }, /\/msi\/token/);
      assert.ok(throttled >= 2 && throttled <= MOST_REQUESTS, `${throttled} requests in the storm`);
      gapsOf(atMs).forEach((gap, index) => {
        assert.ok(gap >= 1000 * 2 ** index, `gap ${index}: ${gap} ms`);
      });
      assert.equal(outcome.recovered, true);
    });
  });

  describe('workload identity (the Entra token endpoint)', { concurrency: 1 }, () => {
    let emulator: Emulator;
    before(async () => {
      emulator = await startEmulator({ azureCredential: 'workload-identity' });
    });
    after(() => emulator?.stop());

    it(`Retry-After: 3 is honoured: at most ${MOST_REQUESTS} requests, and no 60 s of MSAL’s own throttle after the storm`, async () => {
      const { outcome, throttled, atMs } = await storm(
        emulator,
        { status: 429, retryAfterSeconds: 3 },
        /\/oauth2\/v2\.0\/token$/,
      );
      assert.ok(throttled >= 2 && throttled <= MOST_REQUESTS, `${throttled} requests in the storm`);
      for (const gap of gapsOf(atMs))
        assert.ok(gap >= 3000, `a request ${gap} ms after a 429 with Retry-After: 3`);
      assert.deepEqual(outcome.retryAfterSeenMs, [3000]);
      // MSAL alone would refuse the same request for 60 s after a 429 (it cannot read the header): the
      // next call right after the storm gets a token because the source asks with a fresh credential.
      assert.equal(outcome.recovered, true);
    });
  });
});
