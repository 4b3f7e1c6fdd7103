// One failing cold fetch per cloud, through the real SDK and our token cache, against the emulator:
// how many requests reach the identity endpoint (the SDK's own retries and ours) and how long the
// caller waits for the typed error. Each measurement runs in its own process, as bench/worker.ts does
// (the Azure SDK keeps managed-identity state process-wide), through test/scenarios/identity-faults.ts.
import { type Faults, startEmulator } from 'pg-passwordless-emulator';
import { runScenario } from '../packages/pg-passwordless/test/helpers/run-scenario.ts';
import type { BenchSection } from './table.ts';

const TOKEN_PATHS = {
  azure: /\/msi\/token/,
  aws: /\/aws\/credentials/,
  gcp: /\/service-accounts\/default\/token/,
} as const;

const FAULTS: Array<{ name: string; faults: Faults }> = [
  { name: 'endpoint answers 503', faults: { status: 503 } },
  { name: '429 storm, Retry-After 1 s', faults: { status: 429, retryAfterSeconds: 1 } },
];

type FailingFetchRow = {
  cloud: string;
  fault: string;
  'identity requests': number;
  'ms to typed error': number;
  error: string;
};

/**
 * Measures one failing cold fetch per cloud and fault, and returns the table (section 8).
 *
 * @example
 * import { failingFetchBench } from './failing-fetch.ts';
 *
 * const { rows } = await failingFetchBench();
 * console.log(rows[0]?.error); // TOKEN_ENDPOINT_FAILED (503)
 */
export async function failingFetchBench(): Promise<BenchSection> {
  const rows: FailingFetchRow[] = [];
  for (const cloud of ['azure', 'aws', 'gcp'] as const) {
    const emulator = await startEmulator({ cloud });
    try {
      for (const { name, faults } of FAULTS) {
        emulator.setFaults(faults);
        const result = await runScenario('identity-faults.ts', [cloud], {
          ...emulator.env,
          SCENARIO_IDENTITY_URL: emulator.identityUrl,
        });
        emulator.clearFaults();
        const output = result.output as {
          startedAtMs: number;
          failedAtMs: number;
          code?: string;
          status?: number;
        };
        if (result.code !== 0 || output.startedAtMs === undefined)
          throw new Error(`${cloud} ${name}: ${result.stderr}`);
        const requests = emulator
          .identityRequests()
          .filter((request) => TOKEN_PATHS[cloud].test(request.path))
          .filter(
            (request) => request.atMs >= output.startedAtMs && request.atMs <= output.failedAtMs,
          ).length;
        rows.push({
          cloud,
          fault: name,
          'identity requests': requests,
          'ms to typed error': output.failedAtMs - output.startedAtMs,
          error: `${output.code ?? 'none'}${output.status ? ` (${output.status})` : ''}`,
        });
      }
    } finally {
      await emulator.stop();
    }
  }
  return {
    id: '8',
    title: '8. One failing cold fetch with no token cached (the SDK retries + ours), per cloud',
    rows,
    notes: [],
  };
}
