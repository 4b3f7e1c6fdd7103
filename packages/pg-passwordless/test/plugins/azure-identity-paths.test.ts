// The Azure identities fleets use besides managed identity, each through the real @azure/identity as
// the library builds it from the environment, against the emulator's Entra token endpoint (HTTPS,
// AZURE_AUTHORITY_HOST): workload identity (a federated token file), and a service principal with a
// client secret or a certificate. Each path through createPool, the preload and `exec`, and the
// doctor's reading of it; then each failure the emulator can produce, named with what to fix. Every run
// is its own process (the SDK keeps state process-wide), with a clean environment plus the emulator's.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Emulator, type FederatedTokenOptions, startEmulator } from 'pg-passwordless-emulator';
import type { DoctorReport, DoctorStep } from '../../src/doctor/report.ts';
import { runCli, startProgram } from '../cli/run-cli.ts';
import { runScenario } from '../helpers/run-scenario.ts';
import { assertBuildIsCurrent, runApp } from '../register/run-app.ts';

const TOKEN_PATH = /\/oauth2\/v2\.0\/token$/;
const TOKEN_LIKE = /eyJ[\w-]+\.[\w-]+\./;

/** An emulator environment with some variables replaced, and those given as undefined left out. */
function envOf(emulator: Emulator, changes: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string | undefined> = { ...emulator.env, ...changes };
  return Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}

async function doctor(env: Record<string, string>): Promise<{ code: number | null; report: DoctorReport }> {
  const run = await runCli(['doctor', '--json'], env);
  assert.doesNotMatch(run.stdout + run.stderr, TOKEN_LIKE, 'no token in the output');
  try {
    return { code: run.code, report: JSON.parse(run.stdout) as DoctorReport };
  } catch {
    assert.fail(`not JSON (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
  }
}

const stepOf = (report: DoctorReport, name: string) =>
  report.steps.find((step) => step.step === name) as DoctorStep;

/** Every path works the same way through the library: createPool, the preload, exec and the doctor. */
function itWorksThrough(emulator: () => Emulator, env: () => Record<string, string>, credentialLine: RegExp) {
  it('createPool: 5 cold connections log in as the identity, with one token request', async () => {
    const start = emulator().identityRequests().length;
    const result = await runScenario('azure.ts', ['pool'], { ...env(), SCENARIO_CONNECTIONS: '5' });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.output, { user: 'orders-api', connections: 5 });
    const requests = emulator().identityRequests().slice(start);
    assert.equal(requests.filter((request) => TOKEN_PATH.test(request.path)).length, 1);
  });

  it('the preload: an unmodified pg app logs in as the identity', async () => {
    const run = await runApp('pg-pool.mjs', env());
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(run.output, { role: 'orders-api' });
  });

  it('exec: psql runs with the token and prints the role', async () => {
    const run = await runCli(['exec', '--', 'psql', '-X', '-At', '-c', 'select current_user'], env());
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.trim(), 'orders-api');
  });

  it('a token the server stops accepting: the pool fetches a newly issued one with a fresh credential, and logs in', async () => {
    const scenario = fileURLToPath(new URL('../scenarios/azure-refused-token.ts', import.meta.url));
    const running = startProgram(process.execPath, ['--import', 'tsx', scenario], env(), 60_000);
    await running.waitFor('READY');
    const before = emulator().counters();
    assert.ok(emulator().revokeAcceptedTokens() >= 1, 'the pool had logged in');
    running.child.kill('SIGUSR2');
    const done = await running.done;
    assert.equal(done.code, 0, done.stderr);
    const output = JSON.parse(done.stdout.trim().split('\n').pop() ?? '{}');
    assert.deepEqual(output, { role: 'orders-api', invalidations: 1 });
    const after = emulator().counters();
    assert.equal(
      after.gateway.loginsRejected - before.gateway.loginsRejected,
      1,
      'the old token was refused once',
    );
    assert.equal(after.tokensIssued - before.tokensIssued, 1, 'one token newly issued');
  });

  it('doctor: every step ok, and the credential line names the path and its file', async () => {
    const { code, report } = await doctor(env());
    assert.equal(code, 0, JSON.stringify(report.steps, null, 1));
    for (const step of report.steps) assert.equal(step.status, 'ok', `${step.step}: ${step.detail}`);
    assert.match(stepOf(report, 'credential').detail, credentialLine);
  });
}

describe('Azure identity paths against the Entra token endpoint', { concurrency: 2 }, () => {
  before(assertBuildIsCurrent);
  const folder = mkdtempSync(join(tmpdir(), 'azure-identity-paths-'));
  after(() => rmSync(folder, { recursive: true, force: true }));

  describe('workload identity (AZURE_FEDERATED_TOKEN_FILE)', { concurrency: 1 }, () => {
    let emulator: Emulator;
    before(async () => {
      emulator = await startEmulator({ azureCredential: 'workload-identity' });
    });
    after(() => emulator?.stop());

    itWorksThrough(
      () => emulator,
      () => envOf(emulator),
      /^azure: WorkloadIdentityCredential \(AZURE_FEDERATED_TOKEN_FILE \+ AZURE_CLIENT_ID \+ AZURE_TENANT_ID\): token file \S+azure-identity-token \(a token for api:\/\/AzureADTokenExchange from https:\/\/eastus\.oic\.prod-aks\.azure\.com\/\S+, subject system:serviceaccount:default:orders-api, valid \d+ more minutes\), client id [0-9a-f-]{36}, tenant \S+, authority https:\/\/127\.0\.0\.1:\d+ \(AZURE_AUTHORITY_HOST\)/,
    );

    /** A token file the test writes, holding a federated token made to fail. */
    async function tokenFile(options: FederatedTokenOptions): Promise<string> {
      const path = join(folder, `token-${randomUUID()}`);
      writeFileSync(path, await emulator.issueFederatedToken(options));
      return path;
    }

    it('a missing token file: the credential and token steps say so, CREDENTIAL_UNAVAILABLE, with how the webhook mounts it', async () => {
      const missing = join(folder, 'no-such-token');
      const { code, report } = await doctor(envOf(emulator, { AZURE_FEDERATED_TOKEN_FILE: missing }));
      assert.equal(code, 1);
      const credential = stepOf(report, 'credential');
      assert.equal(credential.status, 'FAIL');
      assert.match(
        credential.detail,
        new RegExp(`token file ${missing} \\(ENOENT\\).*the file cannot be read \\(ENOENT\\)`),
      );
      assert.match(credential.hint ?? '', /azure\.workload\.identity\/use/);
      const token = stepOf(report, 'token');
      assert.equal(token.code, 'CREDENTIAL_UNAVAILABLE');
      assert.match(
        token.detail,
        new RegExp(`AZURE_FEDERATED_TOKEN_FILE names ${missing}, which cannot be read \\(ENOENT\\)`),
      );
      assert.match(token.hint ?? '', /azure\.workload\.identity\/use: "true"/);
    });

    it('an expired token file: Entra refuses it (AADSTS700024), and the hints say the kubelet renews it', async () => {
      const expired = await tokenFile({ nowMs: Date.now() - 2 * 3_600_000 });
      const { report } = await doctor(envOf(emulator, { AZURE_FEDERATED_TOKEN_FILE: expired }));
      const credential = stepOf(report, 'credential');
      assert.equal(credential.status, 'FAIL');
      assert.match(credential.detail, /expired \d+ minutes ago.*the token has expired/);
      const token = stepOf(report, 'token');
      assert.equal(token.code, 'TOKEN_ENDPOINT_FAILED');
      assert.match(token.detail, /answered 401/);
      assert.match(
        token.hint ?? '',
        new RegExp(
          `^AADSTS700024: The federated token in AZURE_FEDERATED_TOKEN_FILE \\(${expired}\\) has expired: on AKS the kubelet renews`,
        ),
      );
    });

    it('a token for another audience: no federated credential matches (AADSTS70021), and the hints name the audience to use', async () => {
      const other = await tokenFile({ audience: 'api://SomethingElse' });
      const { report } = await doctor(envOf(emulator, { AZURE_FEDERATED_TOKEN_FILE: other }));
      const credential = stepOf(report, 'credential');
      assert.equal(credential.status, 'FAIL');
      assert.match(
        credential.detail,
        /a token for api:\/\/SomethingElse .*the token is not for api:\/\/AzureADTokenExchange/,
      );
      const token = stepOf(report, 'token');
      assert.equal(token.code, 'TOKEN_ENDPOINT_FAILED');
      assert.match(
        token.hint ?? '',
        /^AADSTS70021: No federated credential of client .* with the audience api:\/\/AzureADTokenExchange/,
      );
    });

    it('an unknown client id: Entra knows no such application (AADSTS700016), and the hint says which variable to fix', async () => {
      const stranger = randomUUID();
      const { report } = await doctor(envOf(emulator, { AZURE_CLIENT_ID: stranger }));
      assert.equal(stepOf(report, 'credential').status, 'ok');
      const token = stepOf(report, 'token');
      assert.equal(token.code, 'TOKEN_ENDPOINT_FAILED');
      assert.match(token.detail, /answered 400/);
      assert.match(
        token.hint ?? '',
        new RegExp(
          `^AADSTS700016: Entra knows no application or managed identity with client id ${stranger} .*set AZURE_CLIENT_ID`,
        ),
      );
    });
  });

  describe('a service principal (AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH)', {
    concurrency: 1,
  }, () => {
    let emulator: Emulator;
    before(async () => {
      emulator = await startEmulator({ azureCredential: 'service-principal' });
    });
    after(() => emulator?.stop());

    describe('with the client secret', () => {
      itWorksThrough(
        () => emulator,
        () => envOf(emulator),
        /^azure: EnvironmentCredential \(AZURE_TENANT_ID \+ AZURE_CLIENT_ID \+ AZURE_CLIENT_SECRET\): a client secret \(AZURE_CLIENT_CERTIFICATE_PATH is set too: the secret wins\), tenant \S+, client id [0-9a-f-]{36}, authority https:/,
      );
    });

    describe('with the certificate (the secret unset)', () => {
      itWorksThrough(
        () => emulator,
        () => envOf(emulator, { AZURE_CLIENT_SECRET: undefined }),
        /^azure: EnvironmentCredential \(AZURE_TENANT_ID \+ AZURE_CLIENT_ID \+ AZURE_CLIENT_CERTIFICATE_PATH\): certificate \S+client-certificate\.pem \(CN=orders-api, SHA-1 thumbprint [0-9A-F]{40}, valid until \S+\), tenant/,
      );
    });

    it('a wrong client secret: AADSTS7000215, and the hint says to use the secret’s value', async () => {
      const { report } = await doctor(envOf(emulator, { AZURE_CLIENT_SECRET: 'not-the-secret' }));
      const token = stepOf(report, 'token');
      assert.equal(token.code, 'TOKEN_ENDPOINT_FAILED');
      assert.match(
        token.hint ?? '',
        /^AADSTS7000215: AZURE_CLIENT_SECRET is not a current secret of application [0-9a-f-]{36}: use the secret's value/,
      );
    });

    it('a certificate file that is not there: CREDENTIAL_UNAVAILABLE in both steps, naming the variable', async () => {
      const missing = join(folder, 'no-such-certificate.pem');
      const { report } = await doctor(
        envOf(emulator, { AZURE_CLIENT_SECRET: undefined, AZURE_CLIENT_CERTIFICATE_PATH: missing }),
      );
      const credential = stepOf(report, 'credential');
      assert.equal(credential.status, 'FAIL');
      assert.match(credential.detail, new RegExp(`certificate ${missing} \\(ENOENT\\)`));
      const token = stepOf(report, 'token');
      assert.equal(token.code, 'CREDENTIAL_UNAVAILABLE');
      assert.match(
        token.detail,
        new RegExp(`AZURE_CLIENT_CERTIFICATE_PATH names ${missing}, which cannot be read \\(ENOENT\\)`),
      );
      assert.match(token.hint ?? '', /PEM file holding the certificate and its private key/);
    });
  });
});
