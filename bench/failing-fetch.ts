// One failing cold fetch per cloud, through the real SDK and our token cache, against the emulator:
// how many requests reach the identity endpoint (the SDK's own retries and ours) and how long the
// caller waits for the typed error. Each measurement runs in its own process, as bench/worker.ts does
// (the Azure SDK keeps managed-identity state process-wide), through test/scenarios/identity-faults.ts.
// Azure's 429 row is a storm instead: 10 s of 429 with Retry-After 3 s while an app asks again as soon as
// a connection fails (test/scenarios/azure-storm.ts), counting the 429s the SDK drew.
import { type Emulator, type Faults, startEmulator } from 'pg-passwordless-emulator';
import { runScenario } from '../packages/pg-passwordless/test/helpers/run-scenario.ts';
import type { BenchSection } from './table.ts';

const TOKEN_PATHS = {
  azure: /\/msi\/token/,
  aws: /\/aws\/credentials/,
  gcp: /\/service-accounts\/default\/token/,
} as const;

interface FaultCase {
  name: string;
  faults: Faults;
  /** Measured as a storm of this many milliseconds, not as one cold fetch. */
  stormMs?: number;
}

const FAULTS: FaultCase[] = [
  { name: 'endpoint answers 503', faults: { status: 503 } },
  { name: '429 storm, Retry-After 1 s', faults: { status: 429, retryAfterSeconds: 1 } },
];

/** Azure's rows: its 429 row is the 10 s storm of test/reliability/azure-retry-after.test.ts (at most 5 requests). */
const AZURE_FAULTS: FaultCase[] = [
  FAULTS[0] as FaultCase,
  {
    name: '10 s storm of 429, Retry-After 3 s',
    faults: { status: 429, retryAfterSeconds: 3 },
    stormMs: 10_000,
  },
];

type FailingFetchRow = {
  cloud: string;
  fault: string;
  'identity requests': number;
  'ms to typed error': number;
  error: string;
};

/**
 * Measures one failing cold fetch per cloud and fault (for Azure's 429, the storm), and returns the table
 * (section 8).
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
      for (const fault of cloud === 'azure' ? AZURE_FAULTS : FAULTS) {
        emulator.setFaults(fault.faults);
        try {
          rows.push(
            fault.stormMs ? await stormRow(emulator, fault) : await coldFetchRow(emulator, cloud, fault),
          );
        } finally {
          emulator.clearFaults();
        }
      }
    } finally {
      await emulator.stop();
    }
  }
  return {
    id: '8',
    title:
      "8. One failing cold fetch with no token cached (the SDK retries + ours), per cloud; Azure's 429: a 10 s storm",
    rows,
    notes: [],
  };
}

/** One failing cold fetch: the token requests it sent, and how long until the typed error. */
async function coldFetchRow(
  emulator: Emulator,
  cloud: keyof typeof TOKEN_PATHS,
  fault: FaultCase,
): Promise<FailingFetchRow> {
  const result = await runScenario('identity-faults.ts', [cloud], {
    ...emulator.env,
    SCENARIO_IDENTITY_URL: emulator.identityUrl,
  });
  const output = result.output as { startedAtMs: number; failedAtMs: number; code?: string; status?: number };
  if (result.code !== 0 || output.startedAtMs === undefined)
    throw new Error(`${cloud} ${fault.name}: ${result.stderr}`);
  const requests = emulator
    .identityRequests()
    .filter((request) => TOKEN_PATHS[cloud].test(request.path))
    .filter((request) => request.atMs >= output.startedAtMs && request.atMs <= output.failedAtMs).length;
  return {
    cloud,
    fault: fault.name,
    'identity requests': requests,
    'ms to typed error': output.failedAtMs - output.startedAtMs,
    error: `${output.code ?? 'none'}${output.status ? ` (${output.status})` : ''}`,
  };
}

/** Azure's storm: the 429s the SDK drew (the emulator's fault counter), and the first typed error. */
async function stormRow(emulator: Emulator, fault: FaultCase): Promise<FailingFetchRow> {
  const throttledBefore = emulator.counters().faultsInjected;
  const result = await runScenario(
    'azure-storm.ts',
    [],
    { ...emulator.env, SCENARIO_IDENTITY_URL: emulator.identityUrl, STORM_MS: String(fault.stormMs) },
    60_000,
  );
  const output = result.output as { firstFailure?: { afterMs: number; code?: string; status?: number } };
  if (result.code !== 0 || !output.firstFailure) throw new Error(`azure ${fault.name}: ${result.stderr}`);
  const { afterMs, code, status } = output.firstFailure;
  return {
    cloud: 'azure',
    fault: fault.name,
    'identity requests': emulator.counters().faultsInjected - throttledBefore,
    'ms to typed error': afterMs,
    error: `${code ?? 'none'}${status ? ` (${status})` : ''}`,
  };
}
