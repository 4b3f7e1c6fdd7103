// npm run bench: pg-passwordless side by side with the naive approaches, against the local emulator.
// Figures are counts of identity-endpoint requests (exact) and connection times (machine-dependent).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Emulator, startEmulator } from 'pg-passwordless-emulator';
import { runScenario } from '../packages/pg-passwordless/test/helpers/run-scenario.ts';
import { failingFetchBench } from './failing-fetch.ts';
import { proxyBench } from './proxy.ts';
import { table } from './table.ts';

const worker = fileURLToPath(new URL('./worker.ts', import.meta.url));
const STATIC_PASSWORD = 'baseline-password-for-bench';
const REFERENCE_IDENTITY = 'bench-reference';
const REFERENCE_CLIENT_ID = '5b0c4e1a-0000-4000-8000-0000000000be';

function runWorker(
  emulator: Emulator,
  approach: string,
  job: string,
  extra: Record<string, string> = {},
): Promise<Record<string, number>> {
  const env = {
    ...process.env,
    ...emulator.env,
    NODE_EXTRA_CA_CERTS_PEM: readFileSync(emulator.caPath, 'utf8'),
    BENCH_STATIC_PASSWORD: STATIC_PASSWORD,
    ...extra,
  };
  return new Promise((resolve, reject) => {
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
async function measure(
  emulator: Emulator,
  approach: string,
  job: string,
  extra?: Record<string, string>,
): Promise<{ tokenRequests: number; p50Ms?: number; p95Ms?: number }> {
  const before = emulator.counters().tokensIssued;
  const output = await runWorker(emulator, approach, job, extra);
  return { ...output, tokenRequests: emulator.counters().tokensIssued - before };
}

const round = (ms: number | undefined) => `${(ms ?? 0).toFixed(1)} ms`;

const emulator = await startEmulator({
  // A second identity for the reference approach, so that parallel runs tell their requests apart.
  identities: [
    { name: 'orders-api', kind: 'system' },
    { name: REFERENCE_IDENTITY, kind: 'user', clientId: REFERENCE_CLIENT_ID },
  ],
  tokenLifetimeSeconds: 3600,
  passwordRole: { name: 'legacy_app', password: STATIC_PASSWORD },
});
try {
  console.log(
    `emulator: ${emulator.backend.describe()}; gateway ${emulator.gateway.host}:${emulator.gateway.port}`,
  );

  const ours = await measure(emulator, 'passwordless', 'cold-burst');
  const reference = await measure(emulator, 'reference', 'cold-burst');
  table('1. 50 concurrent cold password() calls (a pool opening 50 connections at once), 1 h tokens', [
    { approach: 'pg-passwordless (azure plugin)', 'identity-endpoint requests': ours.tokenRequests },
    {
      approach: 'reference: credential.getToken(scope) per call',
      'identity-endpoint requests': reference.tokenRequests,
    },
  ]);

  // Tokens of 2 minutes: MSAL never serves a cached token within 5 minutes of expiry, so the naive
  // approach asks the endpoint on every new connection.
  emulator.setTokenLifetime(120);
  const shortOurs = await measure(emulator, 'passwordless', 'connections');
  const shortReference = await measure(emulator, 'reference', 'connections');
  const staticPassword = await measure(emulator, 'static-password', 'connections', {
    BENCH_USER: 'legacy_app',
  });
  table('2. 50 sequential new connections through the TLS gateway, 2-minute tokens', [
    {
      approach: 'pg-passwordless',
      'identity-endpoint requests': shortOurs.tokenRequests,
      'connect+query p50': round(shortOurs.p50Ms),
      p95: round(shortOurs.p95Ms),
    },
    {
      approach: 'reference (getToken per connection)',
      'identity-endpoint requests': shortReference.tokenRequests,
      'connect+query p50': round(shortReference.p50Ms),
      p95: round(shortReference.p95Ms),
    },
    {
      approach: 'static password (baseline)',
      'identity-endpoint requests': staticPassword.tokenRequests,
      'connect+query p50': round(staticPassword.p50Ms),
      p95: round(staticPassword.p95Ms),
    },
  ]);

  // A slow identity endpoint (300 ms per answer) hurts whoever waits on it.
  emulator.setFaults({ latencyMs: 300 });
  const slowOurs = await measure(emulator, 'passwordless', 'connections', { BENCH_COUNT: '20' });
  const slowReference = await measure(emulator, 'reference', 'connections', { BENCH_COUNT: '20' });
  emulator.clearFaults();
  table('3. 20 sequential new connections, 2-minute tokens, identity endpoint answering in 300 ms', [
    {
      approach: 'pg-passwordless',
      'identity-endpoint requests': slowOurs.tokenRequests,
      'connect+query p50': round(slowOurs.p50Ms),
      p95: round(slowOurs.p95Ms),
    },
    {
      approach: 'reference (getToken per connection)',
      'identity-endpoint requests': slowReference.tokenRequests,
      'connect+query p50': round(slowReference.p50Ms),
      p95: round(slowReference.p95Ms),
    },
  ]);

  // Connections opened in one burst, recycled at their lifetime (10 s here, 30 min by default).
  const fixed = await runWorker(emulator, 'pg-pool-fixed', 'recycle');
  const spread = await runWorker(emulator, 'passwordless', 'recycle');
  table(
    '4. 50 connections opened in one burst, kept busy past their 10 s lifetime: when do they log in again?',
    [
      {
        approach: "pg-pool's maxLifetimeSeconds (one fixed lifetime)",
        're-logins': fixed.relogins ?? 0,
        'spread over': round(fixed.windowMs),
        'most in one second': fixed.busiestSecond ?? 0,
      },
      {
        approach: 'createPool (each connection its own lifetime, ±10%)',
        're-logins': spread.relogins ?? 0,
        'spread over': round(spread.windowMs),
        'most in one second': spread.busiestSecond ?? 0,
      },
    ],
  );

  // Reliability: both approaches at once, each under its own identity, a new connection every 100 ms.
  const asReference = { AZURE_CLIENT_ID: REFERENCE_CLIENT_ID, BENCH_USER: REFERENCE_IDENTITY };
  // 5. A 90 s identity outage, 20 s into a 130 s run, with 4-minute tokens (MSAL caches nothing that
  // lives under 5 minutes, so the reference asks on every connection).
  emulator.setTokenLifetime(240);
  const outageStartMs = Date.now() + 20_000;
  emulator.setFaults({ outage: { fromMs: outageStartMs, untilMs: outageStartMs + 90_000 } });
  const steady = { BENCH_DURATION_MS: '130000', BENCH_INTERVAL_MS: '100' };
  const [outageOurs, outageReference] = await Promise.all([
    runWorker(emulator, 'passwordless', 'steady', steady),
    runWorker(emulator, 'reference', 'steady', { ...steady, ...asReference }),
  ]);
  emulator.clearFaults();
  table('5. A 90 s identity outage in a 130 s run, a new connection every 100 ms, 4-minute tokens', [
    { approach: 'pg-passwordless', connections: outageOurs.attempts ?? 0, failed: outageOurs.failed ?? 0 },
    {
      approach: 'reference (getToken per connection)',
      connections: outageReference.attempts ?? 0,
      failed: outageReference.failed ?? 0,
    },
  ]);

  // 6. A 60 s storm of 429 (Retry-After 5 s) with no token cached: how hard each approach hits the endpoint.
  // One approach after the other, so that the endpoint's request counter tells them apart.
  const storm = { BENCH_DURATION_MS: '60000', BENCH_INTERVAL_MS: '100' };
  const stormRun = async (approach: string, extra: Record<string, string> = {}) => {
    const before = emulator.counters().identityRequests;
    emulator.setFaults({ status: 429, retryAfterSeconds: 5 });
    const output = await runWorker(emulator, approach, 'steady', { ...storm, ...extra });
    return { ...output, identityRequests: emulator.counters().identityRequests - before } as Record<
      string,
      number
    >;
  };
  const stormOurs = await stormRun('passwordless');
  const stormReference = await stormRun('reference', asReference);
  emulator.clearFaults();
  table('6. A 60 s storm of 429 (Retry-After 5 s), no token cached, a new connection every 100 ms', [
    {
      approach: 'pg-passwordless',
      connections: stormOurs.attempts ?? 0,
      'identity requests': stormOurs.identityRequests,
      'time to fail p50': round(stormOurs.failP50Ms),
      max: round(stormOurs.failMaxMs),
    },
    {
      approach: 'reference (getToken per connection)',
      connections: stormReference.attempts ?? 0,
      'identity requests': stormReference.identityRequests,
      'time to fail p50': round(stormReference.failP50Ms),
      max: round(stormReference.failMaxMs),
    },
  ]);
} finally {
  await emulator.stop();
}

// AWS and GCP: the same cold burst, through the scenarios the tests assert on (one process each).
const rows: Array<Record<string, string | number>> = [];
for (const cloud of ['aws', 'gcp'] as const) {
  const cloudEmulator = await startEmulator({ cloud });
  try {
    const env = { ...cloudEmulator.env, SCENARIO_CONNECTIONS: '50' };
    let before = cloudEmulator.counters().tokensIssued;
    const ours = await runScenario('cloud.ts', ['pool'], env);
    const oursRequests = cloudEmulator.counters().tokensIssued - before;
    before = cloudEmulator.counters().tokensIssued;
    const naive = await runScenario('cloud.ts', [`reference-${cloud}`], env);
    const naiveRequests = cloudEmulator.counters().tokensIssued - before;
    if (ours.code !== 0 || naive.code !== 0)
      throw new Error(`${cloud} scenario failed: ${ours.stderr}${naive.stderr}`);
    const what = cloud === 'aws' ? 'signings / credential requests' : 'metadata token requests';
    rows.push({
      cloud,
      measure: what,
      'pg-passwordless': cloud === 'aws' ? `${ours.output.signings} / ${oursRequests}` : oursRequests,
      'naive per-connection': cloud === 'aws' ? `${naive.output.signings} / ${naiveRequests}` : naiveRequests,
    });
  } finally {
    await cloudEmulator.stop();
  }
}
table('7. 50 concurrent cold connections on AWS RDS IAM and GCP Cloud SQL IAM', rows);
console.log(
  '   naive aws: the reference plugin, a new Signer (and credential chain) per connection;' +
    ' naive gcp: auth.getAccessToken() per connection (google-auth-library shares one refresh)',
);

// 8. No token to be had: one cold fetch against a failing identity endpoint, per cloud.
await failingFetchBench();

// 9. pgbench through `pg-passwordless proxy` (TCP and a Unix socket) against straight to the TLS gateway.
await proxyBench();
