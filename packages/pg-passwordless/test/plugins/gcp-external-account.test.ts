// Workload identity federation (an external_account file) with the real google-auth-library, as a user
// constructs it (GoogleAuth, through the plugin), against the emulator: the subject token in a file is
// exchanged at the emulator's STS (the file's token_url, which the SDK honours), then the service account
// is impersonated at the file's service_account_impersonation_url. Each refusal the emulator can produce
// is read by the doctor, and the subject token never reaches an error.
import assert from 'node:assert/strict';
import { readFileSync, renameSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { type Emulator, startEmulator } from 'pg-passwordless-emulator';
import { gcpDoctor } from '../helpers/gcp-doctor.ts';
import { runScenario } from '../helpers/run-scenario.ts';

const ACCOUNT = 'orders@shop-prod.iam.gserviceaccount.com';
const USER = 'orders@shop-prod.iam';

describe('gcp workload identity federation: the real GoogleAuth against the emulator’s STS', {
  concurrency: 1,
}, () => {
  let emulator: Emulator;
  let file: Record<string, unknown>;

  before(async () => {
    emulator = await startEmulator({
      cloud: 'gcp',
      gcpCredential: 'external-account',
      gcpProjectId: 'shop-prod',
      gcpServiceAccounts: [ACCOUNT],
    });
    file = JSON.parse(readFileSync(emulator.env.GOOGLE_APPLICATION_CREDENTIALS as string, 'utf8')) as Record<
      string,
      unknown
    >;
  });
  after(() => emulator?.stop());

  it('writes an external_account file naming the emulator’s STS, its impersonation URL and a subject token file', () => {
    const origin = /^https:\/\/127\.0\.0\.1:\d+/.exec(String(file.token_url))?.[0];
    assert.ok(origin, String(file.token_url));
    assert.equal(file.type, 'external_account');
    assert.equal(file.token_url, `${origin}/v1/token`);
    assert.equal(
      file.service_account_impersonation_url,
      `${origin}/v1/projects/-/serviceAccounts/${ACCOUNT}:generateAccessToken`,
    );
    assert.match(
      String(file.audience),
      /^\/\/iam\.googleapis\.com\/projects\/\d+\/locations\/global\/workloadIdentityPools\/[\w-]+\/providers\/[\w-]+$/,
    );
    assert.deepEqual(file.credential_source, {
      file: emulator.gcp?.subjectTokenFile(),
      format: { type: 'text' },
    });
    assert.equal(emulator.env.GCE_METADATA_HOST, undefined);
  });

  it('createPool: 20 cold connections, one exchange and one impersonation, the user of the impersonated account', async () => {
    const before = emulator.identityRequests().length;
    const result = await runScenario('cloud.ts', ['pool'], {
      ...emulator.env,
      SCENARIO_USER: '',
      SCENARIO_CONNECTIONS: '20',
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.output.user, USER);
    assert.equal(result.output.role, USER);
    assert.deepEqual(
      emulator
        .identityRequests()
        .slice(before)
        .map((request) => `${request.method} ${request.path}`),
      ['POST /v1/token', `POST /v1/projects/-/serviceAccounts/${ACCOUNT}:generateAccessToken`],
    );
  });

  it('psql logs in with the impersonated account’s token', async () => {
    const result = await runScenario('cloud.ts', ['psql'], emulator.env);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.output.stdout, USER, String(result.output.stderr));
  });

  it('doctor names the file, the subject token file, the STS, the provider and the impersonated account', async () => {
    const { code, step } = await gcpDoctor(emulator.env);
    assert.equal(code, 0, JSON.stringify(step('token')));
    const { detail } = step('credential');
    assert.ok(
      detail.includes(
        `(type external_account: workload identity federation, the subject token in ${emulator.gcp?.subjectTokenFile()}`,
      ),
    );
    assert.ok(
      detail.includes(`exchanged at ${file.token_url} for ${file.audience} then impersonating ${ACCOUNT}`),
    );
    assert.equal(step('token').data?.serviceAccount, ACCOUNT);
    assert.equal(step('login').status, 'ok');
  });

  it('a subject token for another audience: STS’s words, and the audience the provider allows', async () => {
    await emulator.gcp?.writeSubjectToken({ audience: 'https://ci.example.com' });
    try {
      const { code, step } = await gcpDoctor(emulator.env);
      assert.equal(code, 1);
      const token = step('token');
      assert.equal(token.code, 'TOKEN_ENDPOINT_FAILED');
      assert.match(
        token.detail,
        /invalid_grant: The audience in ID Token \[https:\/\/ci\.example\.com\] does not match the expected audience\./,
      );
      assert.ok(token.hint?.includes(`issue it for https:${file.audience}`), token.hint);
    } finally {
      await emulator.gcp?.writeSubjectToken();
    }
  });

  it('an expired subject token: "stale to sign-in", and whatever writes the file must renew it', async () => {
    await emulator.gcp?.writeSubjectToken({ lifetimeSeconds: -60 });
    try {
      const { code, step } = await gcpDoctor(emulator.env);
      assert.equal(code, 1);
      const token = step('token');
      assert.match(token.detail, /invalid_grant: ID Token issued at \d+ is stale to sign-in\./);
      assert.match(token.hint ?? '', /has expired: whatever writes it .* must renew it/);
    } finally {
      await emulator.gcp?.writeSubjectToken();
    }
  });

  it('the principal may not impersonate the account: 403, and the role to grant', async () => {
    emulator.gcp?.allowImpersonation(false);
    try {
      const { code, step } = await gcpDoctor(emulator.env);
      assert.equal(code, 1);
      const token = step('token');
      assert.match(
        token.detail,
        /PERMISSION_DENIED: Permission 'iam\.serviceAccounts\.getAccessToken' denied/,
      );
      assert.match(token.hint ?? '', /roles\/iam\.workloadIdentityUser on the account/);
    } finally {
      emulator.gcp?.allowImpersonation(true);
    }
  });

  it('an unreachable STS: a network failure, naming the token_url of the file', async () => {
    emulator.setFaults({ drop: true });
    try {
      const { code, step } = await gcpDoctor(emulator.env);
      assert.equal(code, 1);
      const token = step('token');
      assert.equal(token.code, 'TOKEN_ENDPOINT_FAILED');
      assert.match(token.detail, /could not be reached/);
      assert.ok(token.hint?.includes(`The token exchange at ${file.token_url}`), token.hint);
    } finally {
      emulator.clearFaults();
    }
  });

  it('a missing subject token file: the credential step fails, and the token step says what is missing', async () => {
    const tokenFile = emulator.gcp?.subjectTokenFile() as string;
    renameSync(tokenFile, `${tokenFile}.away`);
    try {
      const { code, step } = await gcpDoctor(emulator.env);
      assert.equal(code, 1);
      const credential = step('credential');
      assert.equal(credential.status, 'FAIL');
      assert.ok(credential.detail.includes(`; ${tokenFile} does not exist)`), credential.detail);
      assert.match(credential.hint ?? '', /The platform writes the subject token/);
      const token = step('token');
      assert.equal(token.code, 'CREDENTIAL_UNAVAILABLE');
      assert.ok(token.detail.includes(`the subject token file ${tokenFile} does not exist`), token.detail);
    } finally {
      renameSync(`${tokenFile}.away`, tokenFile);
    }
  });

  it('a refused exchange: the SDK’s error carries the subject token in its request, ours does not', async () => {
    await emulator.gcp?.writeSubjectToken({ audience: 'https://ci.example.com' });
    try {
      const subjectToken = readFileSync(emulator.gcp?.subjectTokenFile() as string, 'utf8');
      const result = await runScenario('gcp-token-error.ts', [], {
        ...emulator.env,
        SCENARIO_SECRET: subjectToken.split('.')[2] as string,
      });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.output.sdkFailed, true);
      assert.equal(result.output.sdkHoldsSecret, true, 'the check can see the token where it is');
      assert.equal(result.output.code, 'TOKEN_ENDPOINT_FAILED');
      assert.equal(result.output.holdsSecret, false, String(result.output.message));
    } finally {
      await emulator.gcp?.writeSubjectToken();
    }
  });
});
