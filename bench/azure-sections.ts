// Sections 1 to 6: pg-passwordless side by side with the naive approaches on Azure, each approach in
// its own worker process (bench/worker.ts; the Azure SDK keeps managed-identity state process-wide),
// against one emulator. Each section sets the token lifetime and faults it needs, so any of them can
// run alone (npm run bench -- --only 3).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Emulator, startEmulator } from 'pg-passwordless-emulator';
import type { BenchSection } from './table.ts';

const worker = fileURLToPath(new URL('./worker.ts', import.meta.url));
const STATIC_PASSWORD = 'baseline-password-for-bench';
const REFERENCE_IDENTITY = 'bench-reference';
const REFERENCE_CLIENT_ID = '5b0c4e1a-0000-4000-8000-0000000000be';
/** Env that makes a worker act under the reference approach's own identity. */
const AS_REFERENCE = { AZURE_CLIENT_ID: REFERENCE_CLIENT_ID, BENCH_USER: REFERENCE_IDENTITY };

type Output = Record<string, number>;

function runWorker(emulator: Emulator, approach: string, job: string, extra: Record<string, string> = {}) {
  const env = {
    ...process.env,
    ...emulator.env,
    NODE_EXTRA_CA_CERTS_PEM: readFileSync(emulator.caPath, 'utf8'),
    BENCH_STATIC_PASSWORD: STATIC_PASSWORD,
    ...extra,
  };
  return new Promise<Output>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', worker, approach, job], {
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${approach} ${job} exited with ${code}`));
      resolve(JSON.parse(stdout.trim().split('\n').pop() as string));
    });
  });
}

/** Runs one worker and returns its output plus the token requests the identity endpoint received meanwhile. */
async function measure(emulator: Emulator, approach: string, job: string, extra?: Record<string, string>) {
  const before = emulator.counters().tokensIssued;
  const output = await runWorker(emulator, approach, job, extra);
  return { ...output, tokenRequests: emulator.counters().tokensIssued - before };
}

const round = (ms: number | undefined) => `${(ms ?? 0).toFixed(1)} ms`;

/**
 * Starts the emulator sections 1 to 6 share: a second identity for the reference approach, so that
 * parallel runs tell their requests apart, and a password role for the static-password baseline.
 *
 * @example
 * import { AZURE_SECTIONS, startAzureBenchEmulator } from './azure-sections.ts';
 *
 * const emulator = await startAzureBenchEmulator();
 * const [, coldBurst] = AZURE_SECTIONS[0];
 * console.log((await coldBurst(emulator)).rows); // [{ approach: 'pg-passwordless (azure plugin)', ... }, ...]
 * await emulator.stop();
 */
export function startAzureBenchEmulator(): Promise<Emulator> {
  return startEmulator({
    identities: [
      { name: 'orders-api', kind: 'system' },
      { name: REFERENCE_IDENTITY, kind: 'user', clientId: REFERENCE_CLIENT_ID },
    ],
    tokenLifetimeSeconds: 3600,
    passwordRole: { name: 'legacy_app', password: STATIC_PASSWORD },
  });
}

async function coldBurst(emulator: Emulator): Promise<BenchSection> {
  emulator.setTokenLifetime(3600);
  const ours = await measure(emulator, 'passwordless', 'cold-burst');
  const reference = await measure(emulator, 'reference', 'cold-burst');
  return {
    id: '1',
    title: '1. 50 concurrent cold password() calls (a pool opening 50 connections at once), 1 h tokens',
    rows: [
      { approach: 'pg-passwordless (azure plugin)', 'identity-endpoint requests': ours.tokenRequests },
      {
        approach: 'reference: credential.getToken(scope) per call',
        'identity-endpoint requests': reference.tokenRequests,
      },
    ],
    notes: [],
  };
}

/** A row of sections 2 and 3: requests and connect+query times. */
const timedRow = (approach: string, output: { tokenRequests: number; p50Ms?: number; p95Ms?: number }) => ({
  approach,
  'identity-endpoint requests': output.tokenRequests,
  'connect+query p50': round(output.p50Ms),
  p95: round(output.p95Ms),
});

async function sequentialConnections(emulator: Emulator): Promise<BenchSection> {
  // Tokens of 2 minutes: MSAL never serves a cached token within 5 minutes of expiry, so the naive
  // approach asks the endpoint on every new connection.
  emulator.setTokenLifetime(120);
  const ours = await measure(emulator, 'passwordless', 'connections');
  const reference = await measure(emulator, 'reference', 'connections');
  const staticPassword = await measure(emulator, 'static-password', 'connections', {
    BENCH_USER: 'legacy_app',
  });
  return {
    id: '2',
    title: '2. 50 sequential new connections through the TLS gateway, 2-minute tokens',
    rows: [
      timedRow('pg-passwordless', ours),
      timedRow('reference (getToken per connection)', reference),
      timedRow('static password (baseline)', staticPassword),
    ],
    notes: [],
  };
}

async function slowEndpoint(emulator: Emulator): Promise<BenchSection> {
  // A slow identity endpoint (300 ms per answer) hurts whoever waits on it.
  emulator.setTokenLifetime(120);
  emulator.setFaults({ latencyMs: 300 });
  try {
    const ours = await measure(emulator, 'passwordless', 'connections', { BENCH_COUNT: '20' });
    const reference = await measure(emulator, 'reference', 'connections', { BENCH_COUNT: '20' });
    return {
      id: '3',
      title: '3. 20 sequential new connections, 2-minute tokens, identity endpoint answering in 300 ms',
      rows: [timedRow('pg-passwordless', ours), timedRow('reference (getToken per connection)', reference)],
      notes: [],
    };
  } finally {
    emulator.clearFaults();
  }
}

async function recycle(emulator: Emulator): Promise<BenchSection> {
  // Connections opened in one burst, recycled at their lifetime (10 s here, 30 min by default).
  emulator.setTokenLifetime(120);
  const fixed = await runWorker(emulator, 'pg-pool-fixed', 'recycle');
  const spread = await runWorker(emulator, 'passwordless', 'recycle');
  const row = (approach: string, output: Output) => ({
    approach,
    're-logins': output.relogins ?? 0,
    'spread over': round(output.windowMs),
    'most in one second': output.busiestSecond ?? 0,
  });
  return {
    id: '4',
    title:
      '4. 50 connections opened in one burst, kept busy past their 10 s lifetime: when do they log in again?',
    rows: [
      row("pg-pool's maxLifetimeSeconds (one fixed lifetime)", fixed),
      row('createPool (each connection its own lifetime, ±10%)', spread),
    ],
    notes: [],
  };
}

async function outage(emulator: Emulator): Promise<BenchSection> {
  // Both approaches at once, each under its own identity, a new connection every 100 ms. A 90 s
  // outage, 20 s into a 130 s run, with 4-minute tokens (MSAL caches nothing that lives under 5
  // minutes, so the reference asks on every connection).
  emulator.setTokenLifetime(240);
  const outageStartMs = Date.now() + 20_000;
  emulator.setFaults({ outage: { fromMs: outageStartMs, untilMs: outageStartMs + 90_000 } });
  const steady = { BENCH_DURATION_MS: '130000', BENCH_INTERVAL_MS: '100' };
  try {
    const [ours, reference] = await Promise.all([
      runWorker(emulator, 'passwordless', 'steady', steady),
      runWorker(emulator, 'reference', 'steady', { ...steady, ...AS_REFERENCE }),
    ]);
    const row = (approach: string, output: Output) => ({
      approach,
      connections: output.attempts ?? 0,
      failed: output.failed ?? 0,
    });
    return {
      id: '5',
      title: '5. A 90 s identity outage in a 130 s run, a new connection every 100 ms, 4-minute tokens',
      rows: [row('pg-passwordless', ours), row('reference (getToken per connection)', reference)],
      notes: [],
    };
  } finally {
    emulator.clearFaults();
  }
}

async function storm(emulator: Emulator): Promise<BenchSection> {
  // A 60 s storm of 429 (Retry-After 5 s) with no token cached: how hard each approach hits the
  // endpoint. One approach after the other, so that the endpoint's request counter tells them apart.
  emulator.setTokenLifetime(240);
  const storm = { BENCH_DURATION_MS: '60000', BENCH_INTERVAL_MS: '100' };
  const stormRun = async (approach: string, extra: Record<string, string> = {}) => {
    const before = emulator.counters().identityRequests;
    emulator.setFaults({ status: 429, retryAfterSeconds: 5 });
    const output = await runWorker(emulator, approach, 'steady', { ...storm, ...extra });
    return { ...output, identityRequests: emulator.counters().identityRequests - before };
  };
  try {
    const row = (approach: string, output: Output) => ({
      approach,
      connections: output.attempts ?? 0,
      'identity requests': output.identityRequests ?? 0,
      'time to fail p50': round(output.failP50Ms),
      max: round(output.failMaxMs),
    });
    return {
      id: '6',
      title: '6. A 60 s storm of 429 (Retry-After 5 s), no token cached, a new connection every 100 ms',
      rows: [
        row('pg-passwordless', await stormRun('passwordless')),
        row('reference (getToken per connection)', await stormRun('reference', AS_REFERENCE)),
      ],
      notes: [],
    };
  } finally {
    emulator.clearFaults();
  }
}

/**
 * Sections 1 to 6 by number, in the order they print; each measures against the emulator of
 * {@link startAzureBenchEmulator} and returns its table.
 *
 * @example
 * import { AZURE_SECTIONS } from './azure-sections.ts';
 *
 * console.log(AZURE_SECTIONS.map(([id]) => id)); // ['1', '2', '3', '4', '5', '6']
 */
export const AZURE_SECTIONS: ReadonlyArray<[string, (emulator: Emulator) => Promise<BenchSection>]> = [
  ['1', coldBurst],
  ['2', sequentialConnections],
  ['3', slowEndpoint],
  ['4', recycle],
  ['5', outage],
  ['6', storm],
];
