// `pg-passwordless doctor` against the emulator: a healthy run per cloud, and each failure the emulator
// can produce, named by the step it belongs to. Every run is its own process (the real @azure/identity
// keeps managed-identity state process-wide): the built CLI, with a clean environment plus the
// emulator's. No run may print a token.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Emulator, type EmulatorOptions, startEmulator } from 'pg-passwordless-emulator';
import { createCertificates } from '../../../pg-passwordless-emulator/src/certificates.ts';
import type { CredentialContext, LoginContext } from '../../src/core/doctor-hooks.ts';
import { explainLoginFailure as explainFor } from '../../src/doctor/login-failure.ts';
import type { DoctorReport, DoctorStep } from '../../src/doctor/report.ts';
import { inspectToken as inspectGeneric } from '../../src/doctor/token-facts.ts';
import { awsDoctor } from '../../src/plugins/aws/doctor.ts';
import { azureDoctor } from '../../src/plugins/azure/doctor.ts';
import { gcpDoctor } from '../../src/plugins/gcp/doctor.ts';

// The doctor's pieces, each read through the cloud whose words it knows.
const doctors = { azure: azureDoctor, aws: awsDoctor, gcp: gcpDoctor };
const inspectToken = (token: string, options: { now: () => number }) =>
  inspectGeneric(token, { ...options, read: awsDoctor.readToken });
const explainLoginFailure = (
  error: { code?: unknown; message?: unknown },
  context: Omit<LoginContext, 'facts'> & { cloud: keyof typeof doctors },
) => explainFor(error, doctors[context.cloud] as never, { ...context, facts: {} });
const describeCredentialChain = (
  cloud: keyof typeof doctors,
  context: Omit<CredentialContext<object>, 'options'>,
) => doctors[cloud].describeCredential({ ...context, options: {} });

import { cleanEnv } from '../helpers/run-scenario.ts';

const bin = fileURLToPath(new URL('../../bin/pg-passwordless.js', import.meta.url));
/** Anything that looks like a token of one of the clouds (a JWT, a Google access token, a presigned URL). */
const TOKEN_LIKE = /eyJ[\w-]+\.[\w-]+\.|ya29\.|X-Amz-Signature|X-Amz-Security-Token|X-Amz-Credential/;
const STEPS = ['settings', 'credential', 'token', 'dns', 'tcp', 'tls', 'login', 'query'];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  elapsedMs: number;
}

function doctor(args: string[], env: Record<string, string>, timeoutMs = 30_000): Promise<Run> {
  const startedAt = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'doctor', ...args], {
      env: { ...cleanEnv(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`doctor ${args.join(' ')} timed out; stdout: ${stdout}; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, elapsedMs: Date.now() - startedAt });
    });
  });
}

async function doctorJson(
  args: string[],
  env: Record<string, string>,
): Promise<{ run: Run; report: DoctorReport }> {
  const run = await doctor([...args, '--json'], env);
  assertNoToken(run);
  let report: DoctorReport;
  try {
    report = JSON.parse(run.stdout) as DoctorReport;
  } catch {
    assert.fail(`not JSON (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
  }
  assert.deepEqual(
    report.steps.map((step) => step.step),
    STEPS,
    'one entry per step, in order',
  );
  return { run, report };
}

function assertNoToken(run: Run): void {
  assert.doesNotMatch(run.stdout, TOKEN_LIKE, 'no token on stdout');
  assert.doesNotMatch(run.stderr, TOKEN_LIKE, 'no token on stderr');
}

function stepOf(report: DoctorReport, name: string): DoctorStep {
  return report.steps.find((step) => step.step === name) as DoctorStep;
}

function statuses(report: DoctorReport): Record<string, string> {
  return Object.fromEntries(report.steps.map((step) => [step.step, step.status]));
}

/** An emulator for a group of tests, stopped after them. */
function withEmulator(options: EmulatorOptions): () => Emulator {
  let emulator: Emulator | undefined;
  before(async () => {
    emulator = await startEmulator(options);
  });
  after(() => emulator?.stop());
  return () => emulator as Emulator;
}

describe('pg-passwordless doctor', { concurrency: 4 }, () => {
  for (const cloud of ['azure', 'aws', 'gcp'] as const) {
    describe(`healthy, ${cloud}`, { concurrency: 1 }, () => {
      const emulator = withEmulator({ cloud });

      it('every step ok, one line each, exit 0, no token in the output', async () => {
        const run = await doctor([], emulator().env);
        assertNoToken(run);
        assert.equal(run.code, 0, `${run.stdout}${run.stderr}`);
        const lines = run.stdout.trim().split('\n');
        assert.deepEqual(
          lines.map((line) => line.split(/\s+/).slice(0, 2).join(' ')),
          STEPS.map((step) => `ok ${step}`),
          run.stdout,
        );
        assert.match(
          run.stdout,
          new RegExp(`current_user → ${emulator().env.PGUSER?.replace(/\./g, '\\.')}`),
        );
      });

      it('--json: the same, machine-readable, with the decoded token facts', async () => {
        const { run, report } = await doctorJson([], emulator().env);
        assert.equal(run.code, 0, run.stdout);
        assert.equal(report.ok, true);
        assert.ok(report.steps.every((step) => step.status === 'ok'));
        const token = stepOf(report, 'token').data ?? {};
        const credential = stepOf(report, 'credential').detail;
        if (cloud === 'azure') {
          assert.equal(token.audience, 'https://ossrdbms-aad.database.windows.net');
          assert.equal(token.suggestedRole, 'orders-api');
          assert.equal(typeof token.objectId, 'string');
          assert.equal(typeof token.tenantId, 'string');
          assert.match(credential, /App Service source \(IDENTITY_ENDPOINT \+ IDENTITY_HEADER\)/);
          assert.match(credential, /EnvironmentCredential: .*not set/);
        } else if (cloud === 'aws') {
          assert.equal(token.kind, 'rds-iam');
          assert.equal(token.dbUser, 'app_user');
          assert.equal(token.region, 'us-east-1');
          assert.equal(token.signingPort, emulator().gateway.port);
          assert.equal(token.expiresInSeconds, 900);
          assert.match(credential, /container credentials \(AWS_CONTAINER_CREDENTIALS_FULL_URI\)/);
        } else {
          assert.equal(token.serviceAccount, 'orders@pg-passwordless-emulator.iam.gserviceaccount.com');
          assert.ok(Number(token.expiresAtMs) > Date.now());
          assert.match(credential, /metadata server at GCE_METADATA_HOST=/);
        }
        assert.equal(stepOf(report, 'tls').data?.verified, true);
        assert.equal(stepOf(report, 'query').data?.currentUser, emulator().env.PGUSER);
      });
    });
  }

  describe('failures on Azure', { concurrency: 1 }, () => {
    const emulator = withEmulator({ cloud: 'azure' });
    let folder: string;
    before(() => {
      folder = mkdtempSync(join(tmpdir(), 'pg-passwordless-doctor-'));
    });
    after(() => rmSync(folder, { recursive: true, force: true }));

    it('a role that does not exist: the login fails with ROLE_MISSING and the SQL to create it', async () => {
      const { gateway } = emulator();
      const url = `postgresql://reports@${gateway.host}:${gateway.port}/postgres`;
      const { run, report } = await doctorJson([url], emulator().env);
      assert.equal(run.code, 1);
      assert.equal(report.ok, false);
      const login = stepOf(report, 'login');
      assert.equal(login.status, 'FAIL');
      assert.equal(login.code, 'ROLE_MISSING');
      assert.match(login.detail, /password authentication failed for user "reports"/);
      assert.match(login.hint ?? '', /pgaadauth_create_principal_with_oid\('reports', '[0-9a-f-]{36}'/);
      assert.match(login.hint ?? '', /suggest the role "orders-api"/);
      assert.equal(stepOf(report, 'query').status, 'skip');
      assert.equal(stepOf(report, 'token').status, 'ok', 'the token itself is fine');
    });

    it('the identity endpoint failing (503): the token step fails with TOKEN_ENDPOINT_FAILED, login and query skip', async () => {
      emulator().setFaults({ status: 503 });
      try {
        const { run, report } = await doctorJson([], emulator().env);
        assert.equal(run.code, 1);
        const token = stepOf(report, 'token');
        assert.equal(token.status, 'FAIL');
        assert.equal(token.code, 'TOKEN_ENDPOINT_FAILED');
        assert.match(token.detail, /503/);
        assert.ok(token.hint);
        assert.equal(stepOf(report, 'login').status, 'skip');
        assert.equal(stepOf(report, 'query').status, 'skip');
        assert.equal(stepOf(report, 'tls').status, 'ok', 'the way to the server is checked anyway');
        assert.ok(run.elapsedMs < 15_000, `took ${run.elapsedMs} ms`);
      } finally {
        emulator().clearFaults();
      }
    });

    it('TLS not trusted (PGSSLROOTCERT names another CA): the TLS step names the verification error', async () => {
      const otherCa = join(folder, 'other-ca.pem');
      writeFileSync(otherCa, createCertificates().caCertPem);
      const { run, report } = await doctorJson([], { ...emulator().env, PGSSLROOTCERT: otherCa });
      assert.equal(run.code, 1);
      const tls = stepOf(report, 'tls');
      assert.equal(tls.status, 'FAIL');
      assert.equal(tls.code, 'TLS_UNTRUSTED');
      assert.match(tls.detail, new RegExp(`PGSSLROOTCERT=${otherCa}`));
      // A CA of the same name but another key: OpenSSL finds it by name and the signature fails.
      const errorCode = String(tls.data?.errorCode);
      assert.match(
        errorCode,
        /^(CERT_SIGNATURE_FAILURE|UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN)$/,
      );
      assert.match(tls.detail, new RegExp(`failed: ${errorCode}: `), 'the verification error, code and text');
      assert.match(tls.detail, /issuer CN=pg-passwordless emulator CA/, 'what the server presented');
      assert.match(tls.hint ?? '', /PGSSLROOTCERT/);
      assert.equal(stepOf(report, 'login').status, 'skip', 'no token to an unverified server');
    });

    it('the server unreachable (a closed port): the TCP step fails, TLS and login skip', async () => {
      const { run, report } = await doctorJson(
        ['postgresql://orders-api@127.0.0.1:1/postgres'],
        emulator().env,
      );
      assert.equal(run.code, 1);
      assert.deepEqual(statuses(report), {
        settings: 'ok',
        credential: 'ok',
        token: 'ok',
        dns: 'ok',
        tcp: 'FAIL',
        tls: 'skip',
        login: 'skip',
        query: 'skip',
      });
      assert.equal(stepOf(report, 'tcp').code, 'ECONNREFUSED');
    });

    it('the gate off: the settings step says so, nothing is fetched', async () => {
      const run = await doctor([], { ...emulator().env, PG_PASSWORDLESS_ENABLED: 'false' });
      assertNoToken(run);
      assert.equal(run.code, 1);
      assert.match(run.stdout, /^FAIL\s+settings\s+GATE_OFF: gate off/m);
      assert.match(run.stdout, /^skip\s+token/m);
    });
  });

  describe('sslmode=verify-ca', { concurrency: 1 }, () => {
    const emulator = withEmulator({ cloud: 'azure' });

    it('with the public roots: refused with TLS_REQUIRED, and the doctor says why (human and --json)', async () => {
      // NODE_EXTRA_CA_CERTS puts the emulator's CA into the system store, as a public CA is there: the
      // chain would verify, and any certificate that CA signed, for any name, would get the token.
      const { PGSSLROOTCERT, ...systemStore } = emulator().env;
      const env = { ...systemStore, PGSSLMODE: 'verify-ca' };
      const { run, report } = await doctorJson([], env);
      assert.equal(run.code, 1);
      for (const name of ['settings', 'tls']) {
        const step = stepOf(report, name);
        assert.equal(step.status, 'FAIL', name);
        assert.equal(step.code, 'TLS_REQUIRED', name);
        assert.match(
          step.detail,
          /verify-ca with the system trust store .* any server that holds a publicly trusted certificate for any name/,
        );
        assert.match(step.hint ?? '', /sslmode=verify-full .* sslrootcert=<file> or PGSSLROOTCERT=<file>/);
      }
      assert.equal(stepOf(report, 'login').status, 'skip', 'no token goes out');
      const human = await doctor([], env);
      assert.equal(human.code, 1);
      assert.match(
        human.stdout,
        /^FAIL\s+tls\s+TLS_REQUIRED: sslmode=verify-ca with the system trust store .*publicly trusted certificate for any name.*\(hint: Use sslmode=verify-full/m,
      );
      const system = await doctorJson([`${emulator().env.DATABASE_URL}?sslrootcert=system`], env);
      assert.match(
        stepOf(system.report, 'tls').detail,
        /^sslmode=verify-ca with sslrootcert=system \(the public roots/,
      );
    });

    it('with the server’s CA named in PGSSLROOTCERT: every step ok, the name not checked, and the doctor says so', async () => {
      const { run, report } = await doctorJson([], { ...emulator().env, PGSSLMODE: 'verify-ca' });
      assert.equal(run.code, 0, run.stdout);
      const tls = stepOf(report, 'tls');
      assert.match(
        tls.detail,
        new RegExp(
          `verified against PGSSLROOTCERT=${emulator().caPath}, the name not checked \\(verify-ca with that CA\\)`,
        ),
      );
      assert.equal(tls.data?.sslmode, 'verify-ca');
      assert.equal(tls.data?.caSource, 'PGSSLROOTCERT');
    });
  });

  describe('an IP target against a certificate that names only DNS:localhost', () => {
    const emulator = withEmulator({ cloud: 'azure', certificateNames: ['localhost'] });

    it('the TLS step fails with TLS_HOSTNAME_MISMATCH and says the address must be an IP entry', async () => {
      const { run, report } = await doctorJson([], emulator().env);
      assert.equal(run.code, 1);
      const tls = stepOf(report, 'tls');
      assert.equal(tls.code, 'TLS_HOSTNAME_MISMATCH');
      assert.match(tls.detail, /DNS:localhost/);
      assert.match(
        tls.hint ?? '',
        /does not name 127\.0\.0\.1 \(the IP address \(an IP Address entry of its subjectAltName\)\)/,
      );
      assert.equal(stepOf(report, 'login').status, 'skip');
    });
  });

  describe('wrong audience (the server is in US Gov, the host name does not say so)', () => {
    const emulator = withEmulator({ cloud: 'azure', azureCloud: 'usgov' });

    it('the login fails with WRONG_AUDIENCE, naming both audiences', async () => {
      const { run, report } = await doctorJson([], emulator().env);
      assert.equal(run.code, 1);
      assert.equal(stepOf(report, 'token').data?.audience, 'https://ossrdbms-aad.database.windows.net');
      const login = stepOf(report, 'login');
      assert.equal(login.code, 'WRONG_AUDIENCE');
      assert.match(login.detail, /the server wants https:\/\/ossrdbms-aad\.database\.usgovcloudapi\.net/);
      assert.match(login.hint ?? '', /cloud: 'usgov'/);
    });
  });

  describe('clock skew (the cloud’s clock 2 hours ahead of this machine)', () => {
    const emulator = withEmulator({ cloud: 'azure', now: () => Date.now() + 2 * 3600_000 });

    it('the token step fails with CLOCK_SKEW, from the token’s iat/nbf against the local clock', async () => {
      const run = await doctor([], emulator().env);
      assertNoToken(run);
      assert.equal(run.code, 1);
      assert.match(run.stdout, /^FAIL\s+token\s+CLOCK_SKEW: .*issued 2 h 0 min after this machine's clock/m);
      assert.match(run.stdout, /hint: .*NTP/);
    });
  });

  describe('failures on AWS and GCP', { concurrency: 1 }, () => {
    const aws = withEmulator({ cloud: 'aws', now: () => Date.now() + 2 * 3600_000 });
    const gcp = withEmulator({ cloud: 'gcp' });

    it('RDS refuses the token (its clock 2 hours ahead): RDS_IAM_FAILED with the PAM causes', async () => {
      const { run, report } = await doctorJson([], aws().env);
      assert.equal(run.code, 1);
      const login = stepOf(report, 'login');
      assert.equal(login.code, 'RDS_IAM_FAILED');
      assert.match(login.detail, /PAM authentication failed for user "app_user"/);
      assert.match(login.hint ?? '', /GRANT rds_iam TO "app_user"/);
      assert.match(login.hint ?? '', /clocks differ/);
    });

    it('Cloud SQL refuses a user that is not the service account: CLOUD_SQL_IAM_FAILED names the right user', async () => {
      const { gateway } = gcp();
      const url = `postgresql://reports%40pg-passwordless-emulator.iam@${gateway.host}:${gateway.port}/postgres`;
      const { run, report } = await doctorJson([url], gcp().env);
      assert.equal(run.code, 1);
      const login = stepOf(report, 'login');
      assert.equal(login.code, 'CLOUD_SQL_IAM_FAILED');
      assert.match(login.hint ?? '', /Log in as "orders@pg-passwordless-emulator\.iam"/);
    });
  });

  it('--help, and a bad flag gets a stable code', async () => {
    const help = await doctor(['--help'], {});
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: pg-passwordless doctor \[URL\] \[--json\]/);
    const bad = await doctor(['--bogus'], {});
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^pg-passwordless: CONFIG_INVALID: Unknown option "--bogus" for "doctor"/);
  });
});

describe('doctor pieces', () => {
  it('inspectToken reads an RDS token’s presigned query, never its signature', () => {
    const token =
      'orders.abc.eu-west-1.rds.amazonaws.com:5432/?Action=connect&DBUser=app_user&X-Amz-Algorithm=AWS4-HMAC-SHA256' +
      '&X-Amz-Credential=AKIAEXAMPLE%2F20260101%2Feu-west-1%2Frds-db%2Faws4_request&X-Amz-Date=20260101T120000Z' +
      '&X-Amz-Expires=900&X-Amz-Signature=abcdef&X-Amz-SignedHeaders=host';
    const facts = inspectToken(token, { now: () => Date.UTC(2026, 0, 1, 12, 5) });
    assert.equal(facts.signingHost, 'orders.abc.eu-west-1.rds.amazonaws.com');
    assert.equal(facts.signingPort, 5432);
    assert.equal(facts.dbUser, 'app_user');
    assert.equal(facts.region, 'eu-west-1');
    assert.equal(facts.expiresAtMs, Date.UTC(2026, 0, 1, 12, 15));
    assert.equal(facts.problem, undefined);
    assert.doesNotMatch(JSON.stringify(facts), /AKIAEXAMPLE|abcdef/);
    assert.equal(inspectToken(token, { now: () => Date.UTC(2026, 0, 1, 12, 20) }).problem, 'TOKEN_EXPIRED');
  });

  it('explainLoginFailure tells an expired token from a server clock that runs ahead', () => {
    const message = 'The access token has expired. Please acquire a new token and retry.';
    const context = {
      cloud: 'azure' as const,
      user: 'orders-api',
      host: 'h',
      port: 5432,
      now: () => 1_000_000,
    };
    const expired = explainLoginFailure(
      { code: '28000', message },
      { ...context, token: { kind: 'jwt', summary: '', expiresAtMs: 999_000 } },
    );
    assert.equal(expired.code, 'TOKEN_EXPIRED');
    const skew = explainLoginFailure(
      { code: '28000', message },
      { ...context, token: { kind: 'jwt', summary: '', expiresAtMs: 4_600_000 } },
    );
    assert.equal(skew.code, 'CLOCK_SKEW');
    const notMapped = explainLoginFailure(
      {
        code: '28000',
        message:
          'The access token does not belong to role "orders-api": its object id does not match the role\'s.',
      },
      { ...context, token: { kind: 'jwt', summary: '', objectId: 'oid-1' } },
    );
    assert.equal(notMapped.code, 'ROLE_NOT_MAPPED');
    assert.match(notMapped.hint, /'orders-api', 'oid-1'/);
  });

  it('describeCredentialChain follows each chain’s order from the environment', () => {
    const azure = (env: Record<string, string>) => describeCredentialChain('azure', { env }).chosen;
    assert.match(
      azure({ AZURE_TENANT_ID: 't', AZURE_CLIENT_ID: 'c', AZURE_CLIENT_SECRET: 's' }),
      /^EnvironmentCredential/,
    );
    assert.match(
      azure({ AZURE_POD_IDENTITY_AUTHORITY_HOST: 'http://127.0.0.1:1' }),
      /IMDS source at AZURE_POD_IDENTITY_AUTHORITY_HOST/,
    );
    assert.match(azure({ MSI_ENDPOINT: 'http://x' }), /Cloud Shell/);
    assert.match(azure({}), /IMDS at http:\/\/169\.254\.169\.254/);
    assert.doesNotMatch(
      JSON.stringify(
        describeCredentialChain('azure', {
          env: { AZURE_TENANT_ID: 't', AZURE_CLIENT_ID: 'c', AZURE_CLIENT_SECRET: 'hunter2' },
        }),
      ),
      /hunter2/,
    );

    const aws = (env: Record<string, string>) =>
      describeCredentialChain('aws', { env, fileExists: () => false, home: '/nowhere' });
    assert.match(aws({ AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b' }).chosen, /^environment keys/);
    assert.match(aws({ AWS_WEB_IDENTITY_TOKEN_FILE: '/t', AWS_ROLE_ARN: 'arn:r' }).chosen, /^web identity/);
    const none = aws({ AWS_EC2_METADATA_DISABLED: 'true' });
    assert.equal(none.ok, false);
    assert.ok(none.hint);

    const gcp = describeCredentialChain('gcp', {
      env: { GOOGLE_APPLICATION_CREDENTIALS: '/missing.json' },
      fileExists: () => false,
    });
    assert.equal(gcp.ok, false);
  });
});
