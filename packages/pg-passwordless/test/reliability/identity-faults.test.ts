// Each real SDK against the emulator's identity endpoint with faults injected: how many requests one
// failing cold fetch sends (the SDK's own retries and ours), how long it takes, whether Retry-After is
// honoured, what error the caller gets, and that the next fetch after the fault succeeds.
// One process per scenario (test/scenarios/identity-faults.ts): the Azure SDK keeps managed-identity
// state process-wide. The three clouds run side by side; each cloud's scenarios one after another.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Emulator, type Faults, startEmulator } from 'pg-passwordless-emulator';
import { runScenario } from '../helpers/run-scenario.ts';

interface Outcome {
  failed: boolean;
  firstFetchSucceeded: boolean;
  passwordlessError?: boolean;
  code?: string;
  retryable?: boolean;
  reason?: string;
  status?: number;
  networkCode?: string;
  sdkRetries?: number;
  startedAtMs: number;
  failedAtMs: number;
  elapsedMs: number;
  attemptsAtMs: number[];
  recovered: boolean;
  recoveryError?: string;
}

/**
 * Per cloud: the token route, and the most requests one failing cold fetch may send.
 * - azure: retryOptions.maxRetries 0, so 1 request per attempt, 4 attempts;
 * - aws: 3 requests per attempt (the default chain asks the container endpoint through fromHttp, then
 *   fromContainerMetadata, and drops the answer; the plugin asks once more for the status and
 *   Retry-After), SDK retries off, 4 attempts;
 * - gcp: gaxios retries 3 times on its own (no option reaches it), and then our layer does not.
 */
const CLOUDS = {
  azure: { tokenPath: /\/msi\/token/, maxRequests: 4 },
  aws: { tokenPath: /\/aws\/credentials/, maxRequests: 12 },
  gcp: { tokenPath: /\/service-accounts\/default\/token/, maxRequests: 4 },
} as const;

/** A failing cold fetch must end within the cache's 10 s budget, plus process start-up. */
const FAILS_WITHIN_MS = 10_500;
const RETRY_AFTER_SECONDS = 1;

describe('identity endpoint faults, real SDKs', { concurrency: 3 }, () => {
  for (const cloud of ['azure', 'aws', 'gcp'] as const) {
    describe(cloud, { concurrency: 1 }, () => {
      const { tokenPath, maxRequests } = CLOUDS[cloud];
      let emulator: Emulator;
      before(async () => {
        emulator = await startEmulator({ cloud });
      });
      after(() => emulator?.stop());

      /** Runs one cold fetch with `faults` set; returns the outcome and the token requests it sent. */
      async function coldFetch(faults: Faults): Promise<{ outcome: Outcome; requestsAtMs: number[] }> {
        emulator.setFaults(faults);
        const result = await runScenario(
          'identity-faults.ts',
          [cloud],
          { ...emulator.env, SCENARIO_IDENTITY_URL: emulator.identityUrl },
          30_000,
        );
        emulator.clearFaults();
        assert.equal(result.code, 0, result.stderr);
        const outcome = result.output as unknown as Outcome;
        const requestsAtMs = emulator
          .identityRequests()
          .filter((request) => tokenPath.test(request.path))
          .map((request) => request.atMs)
          .filter((atMs) => atMs >= outcome.startedAtMs && atMs <= outcome.failedAtMs);
        return { outcome, requestsAtMs };
      }

      function assertTypedFailure(outcome: Outcome, requestsAtMs: number[], status?: number): void {
        assert.equal(outcome.failed, true, 'the cold fetch fails');
        assert.equal(outcome.passwordlessError, true);
        assert.equal(outcome.code, 'TOKEN_ENDPOINT_FAILED');
        assert.equal(outcome.retryable, true);
        if (status !== undefined) assert.equal(outcome.status, status);
        assert.ok(
          requestsAtMs.length >= 1 && requestsAtMs.length <= maxRequests,
          `${requestsAtMs.length} requests`,
        );
        assert.ok(outcome.elapsedMs < FAILS_WITHIN_MS, `failed after ${outcome.elapsedMs} ms`);
        assert.equal(outcome.recovered, true, outcome.recoveryError);
      }

      it(`429 with Retry-After: our retries wait it out, at most ${maxRequests} requests`, async () => {
        const { outcome, requestsAtMs } = await coldFetch({
          status: 429,
          retryAfterSeconds: RETRY_AFTER_SECONDS,
        });
        assertTypedFailure(outcome, requestsAtMs, 429);
        // Every attempt of our retry layer starts at least Retry-After after the last 429 before it.
        const retriesAtMs = outcome.attemptsAtMs.slice(1).filter((atMs) => atMs <= outcome.failedAtMs);
        for (const attemptAtMs of retriesAtMs) {
          const last429 = Math.max(...requestsAtMs.filter((atMs) => atMs < attemptAtMs));
          assert.ok(
            attemptAtMs - last429 >= RETRY_AFTER_SECONDS * 1000,
            `attempt ${attemptAtMs - last429} ms after a 429`,
          );
        }
        if (cloud === 'azure') {
          // One request per attempt: no request at all comes before Retry-After has passed.
          for (let i = 1; i < requestsAtMs.length; i++)
            assert.ok(
              (requestsAtMs[i] as number) - (requestsAtMs[i - 1] as number) >= RETRY_AFTER_SECONDS * 1000,
            );
        }
        if (cloud === 'gcp') assert.equal(retriesAtMs.length, 0, 'gaxios retried; we do not again');
      });

      for (const status of [500, 503]) {
        it(`${status}: a typed failure with the status, at most ${maxRequests} requests`, async () => {
          const { outcome, requestsAtMs } = await coldFetch({ status });
          assertTypedFailure(outcome, requestsAtMs, status);
        });
      }

      it('dropped connection: a network failure, retried, bounded', async () => {
        const { outcome, requestsAtMs } = await coldFetch({ drop: true });
        assertTypedFailure(outcome, requestsAtMs);
        assert.equal(outcome.reason, 'network');
        assert.ok(outcome.status === undefined);
      });

      it('slow answer: beyond the SDK timeout where there is one, else waited for', async () => {
        if (cloud === 'gcp') {
          // gcp-metadata aborts after 3 s off GCP and does not retry an abort; ours do, until the
          // cache's 10 s budget runs out.
          const { outcome, requestsAtMs } = await coldFetch({ latencyMs: 3_500 });
          assert.equal(outcome.failed, true);
          assert.equal(outcome.code, 'TOKEN_ENDPOINT_FAILED');
          assert.ok(requestsAtMs.length <= maxRequests, `${requestsAtMs.length} requests`);
          assert.ok(outcome.elapsedMs < FAILS_WITHIN_MS, `failed after ${outcome.elapsedMs} ms`);
          return;
        }
        // Azure and AWS have no effective timeout (AWS only warns): a slow answer is waited for, within
        // the cache's 10 s budget, and not asked for twice.
        const { outcome, requestsAtMs } = await coldFetch({ latencyMs: 1_500 });
        assert.equal(outcome.firstFetchSucceeded, true);
        assert.ok(outcome.elapsedMs >= 1_500);
        assert.equal(outcome.attemptsAtMs.length, 1);
        assert.equal(requestsAtMs.length, 1);
      });
    });
  }
});
