// `pg-passwordless doctor` on the two identity paths of EKS, against the emulator: it names the chosen
// credential with its role or endpoint and token file (and what the token says), and explains each
// failure the emulator can produce, in the step it belongs to, with a hint: a token file gone or
// expired, an STS refusal, a refused authorization token, and AWS credentials that expired (known to
// the SDK, or seen only by the server). No run prints a token, the service-account token included.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Emulator, type EmulatorOptions, startEmulator } from 'pg-passwordless-emulator';
import type { DoctorReport, DoctorStep } from '../../src/doctor/report.ts';
import { runCli } from './run-cli.ts';

/** Anything that looks like a token: a JWT (the service-account token too), or a presigned URL. */
const TOKEN_LIKE = /eyJ[\w-]+\.[\w-]+\.|X-Amz-Signature|X-Amz-Security-Token|X-Amz-Credential/;

async function doctor(
  env: Record<string, string>,
): Promise<{ code: number | null; steps: Record<string, DoctorStep> }> {
  const run = await runCli(['doctor', '--json'], env);
  assert.doesNotMatch(run.stdout, TOKEN_LIKE, 'no token on stdout');
  assert.doesNotMatch(run.stderr, TOKEN_LIKE, 'no token on stderr');
  let report: DoctorReport;
  try {
    report = JSON.parse(run.stdout) as DoctorReport;
  } catch {
    assert.fail(`not JSON (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
  }
  return { code: run.code, steps: Object.fromEntries(report.steps.map((step) => [step.step, step])) };
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

describe('doctor with IRSA (web identity)', { concurrency: 1 }, () => {
  const emulator = withEmulator({ cloud: 'aws', awsCredential: 'web-identity' });

  it('names the role, the token file and what its token says; the token and the login pass', async () => {
    const { code, steps } = await doctor(emulator().env);
    assert.equal(code, 0, JSON.stringify(steps, null, 2));
    const { credential, token, login } = steps as Record<string, DoctorStep>;
    assert.equal(credential?.status, 'ok');
    assert.match(
      credential?.detail ?? '',
      /^aws: web identity \(IRSA: AWS_WEB_IDENTITY_TOKEN_FILE \+ AWS_ROLE_ARN\): role arn:aws:iam::000000000000:role\/pg-passwordless-emulator, token file \/\S+\/token \(a token for system:serviceaccount:default:orders-api, audience sts\.amazonaws\.com, issuer https:\/\/oidc\.eks\.us-east-1\.amazonaws\.com\/id\/[0-9A-F]{32}, expires in (23 h 59 min|24 h 0 min)\); STS at http:\/\/127\.0\.0\.1:\d+\/aws\/sts \(AWS_ENDPOINT_URL_STS\)/,
    );
    assert.match(
      credential?.detail ?? '',
      /skipped: environment keys: .*not set; profile "default": not found/,
    );
    assert.equal(token?.status, 'ok');
    assert.match(
      token?.detail ?? '',
      /signed with temporary credentials \(valid while they are, 15 minutes at most\)/,
    );
    assert.equal(login?.status, 'ok');
  });

  it('an expired token file: the credential step says so, the token step gives STS’s refusal', async () => {
    await emulator().aws?.writeTokenFile({ lifetimeSeconds: -120 });
    try {
      const { code, steps } = await doctor(emulator().env);
      assert.equal(code, 1);
      assert.equal(steps.credential?.status, 'FAIL');
      assert.match(steps.credential?.detail ?? '', /expired 2 min ago\)/);
      assert.match(
        steps.credential?.hint ?? '',
        /has expired and STS refuses it \(ExpiredTokenException\): the kubelet rewrites/,
      );
      assert.equal(steps.token?.code, 'TOKEN_ENDPOINT_FAILED');
      assert.match(
        steps.token?.detail ?? '',
        /STS refused AssumeRoleWithWebIdentity with 400 ExpiredTokenException/,
      );
      assert.match(steps.token?.hint ?? '', /has expired/);
    } finally {
      await emulator().aws?.writeTokenFile();
    }
  });

  it('a role that does not trust the token: the token step names the role and its trust policy', async () => {
    const role = 'arn:aws:iam::000000000000:role/reporting';
    const { code, steps } = await doctor({ ...emulator().env, AWS_ROLE_ARN: role });
    assert.equal(code, 1);
    assert.equal(steps.credential?.status, 'ok');
    assert.match(steps.credential?.detail ?? '', new RegExp(`role ${role}, token file`));
    assert.equal(steps.token?.code, 'TOKEN_ENDPOINT_FAILED');
    assert.match(
      steps.token?.detail ?? '',
      /403 AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity/,
    );
    assert.match(steps.token?.hint ?? '', /trust policy must allow sts:AssumeRoleWithWebIdentity/);
  });

  it('a token file that is not there: named in both steps', async () => {
    const { code, steps } = await doctor({
      ...emulator().env,
      AWS_WEB_IDENTITY_TOKEN_FILE: '/nonexistent/token',
    });
    assert.equal(code, 1);
    assert.equal(steps.credential?.code, 'CREDENTIAL_UNAVAILABLE');
    assert.match(
      steps.credential?.detail ?? '',
      /token file \/nonexistent\/token: the token file does not exist/,
    );
    assert.match(steps.credential?.hint ?? '', /eks\.amazonaws\.com\/role-arn/);
    assert.equal(steps.token?.code, 'CREDENTIAL_UNAVAILABLE');
    assert.match(
      steps.token?.detail ?? '',
      /AWS_WEB_IDENTITY_TOKEN_FILE \(\/nonexistent\/token\) cannot be read \(ENOENT\)/,
    );
  });
});

describe('doctor with EKS Pod Identity', { concurrency: 1 }, () => {
  const emulator = withEmulator({ cloud: 'aws', awsCredential: 'pod-identity' });

  it('names the agent’s endpoint, the authorization token file and what its token says', async () => {
    const { code, steps } = await doctor(emulator().env);
    assert.equal(code, 0, JSON.stringify(steps, null, 2));
    assert.match(
      steps.credential?.detail ?? '',
      /^aws: EKS Pod Identity \(AWS_CONTAINER_CREDENTIALS_FULL_URI\): http:\/\/127\.0\.0\.1:\d+\/v1\/credentials with AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE \/\S+\/eks-pod-identity-token \(a token for system:serviceaccount:default:orders-api, audience pods\.eks\.amazonaws\.com, issuer https:\/\/oidc\.eks\./,
    );
    assert.match(
      steps.credential?.detail ?? '',
      /skipped: .*web identity: AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN not set/,
    );
  });

  it('a token the agent refuses: its words in the token step, and a note on the audience', async () => {
    await emulator().aws?.writeTokenFile({ audience: 'sts.amazonaws.com' });
    try {
      const { code, steps } = await doctor(emulator().env);
      assert.equal(code, 1);
      assert.equal(steps.credential?.status, 'ok');
      assert.match(String(steps.credential?.data?.note), /audience is not pods\.eks\.amazonaws\.com/);
      assert.equal(steps.token?.code, 'TOKEN_ENDPOINT_FAILED');
      assert.match(steps.token?.detail ?? '', /refused the request with 400: .*\(InvalidTokenException\)/);
      assert.match(steps.token?.hint ?? '', /pod identity association/);
    } finally {
      await emulator().aws?.writeTokenFile();
    }
  });

  it('an authorization token file that is not there: named in both steps', async () => {
    const env = {
      ...emulator().env,
      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: '/nonexistent/eks-pod-identity-token',
    };
    const { code, steps } = await doctor(env);
    assert.equal(code, 1);
    assert.equal(steps.credential?.code, 'CREDENTIAL_UNAVAILABLE');
    assert.match(steps.credential?.detail ?? '', /the token file does not exist/);
    assert.match(steps.credential?.hint ?? '', /pod identity association/);
    assert.equal(steps.token?.code, 'CREDENTIAL_UNAVAILABLE');
  });
});

describe('doctor with expired AWS credentials', { concurrency: 1 }, () => {
  let offsetMs = 0;
  // Container credentials that live 2 minutes, on an emulator whose clock the tests move ahead.
  const emulator = withEmulator({
    cloud: 'aws',
    awsCredentialLifetimeSeconds: 120,
    now: () => Date.now() + offsetMs,
  });

  /** The emulator's current credentials as environment keys (a session token: temporary ones). */
  const environmentKeys = (more: Record<string, string> = {}) => {
    const { AWS_CONTAINER_CREDENTIALS_FULL_URI, AWS_CONTAINER_AUTHORIZATION_TOKEN, ...env } = emulator().env;
    const keys = emulator().aws?.currentCredentials();
    return {
      ...env,
      AWS_ACCESS_KEY_ID: keys?.accessKeyId ?? '',
      AWS_SECRET_ACCESS_KEY: keys?.secretAccessKey ?? '',
      AWS_SESSION_TOKEN: keys?.sessionToken ?? '',
      ...more,
    };
  };

  it('known to have expired (AWS_CREDENTIAL_EXPIRATION): the token step refuses to sign, and says who must renew them', async () => {
    const expired = new Date(Date.now() - 60_000).toISOString();
    const { code, steps } = await doctor(environmentKeys({ AWS_CREDENTIAL_EXPIRATION: expired }));
    assert.equal(code, 1);
    assert.match(
      steps.credential?.detail ?? '',
      /environment keys \(AWS_ACCESS_KEY_ID \+ AWS_SECRET_ACCESS_KEY \+ AWS_SESSION_TOKEN\)/,
    );
    assert.equal(steps.token?.code, 'CREDENTIAL_UNAVAILABLE');
    assert.match(
      steps.token?.detail ?? '',
      /the AWS credentials from the environment keys \(AWS_ACCESS_KEY_ID\) expired at /,
    );
    assert.match(steps.token?.hint ?? '', /AWS_SESSION_TOKEN and its keys are temporary/);
    assert.equal(steps.login?.status, 'skip');
  });

  it('expired by the server’s clock only: RDS refuses the login, and the hint names temporary credentials', async () => {
    const env = environmentKeys();
    offsetMs = 121_000;
    try {
      const { code, steps } = await doctor(env);
      assert.equal(code, 1);
      assert.equal(steps.token?.status, 'ok');
      assert.equal(steps.login?.code, 'RDS_IAM_FAILED');
      assert.match(steps.login?.detail ?? '', /PAM authentication failed for user "app_user"/);
      assert.match(
        steps.login?.hint ?? '',
        /the temporary credentials that signed it \(a session token: .*\) expired or were revoked/,
      );
    } finally {
      offsetMs = 0;
    }
  });
});
