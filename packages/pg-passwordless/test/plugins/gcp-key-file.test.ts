// A service-account key file (GOOGLE_APPLICATION_CREDENTIALS) with the real google-auth-library, as a
// user constructs it (GoogleAuth, through the plugin), against the emulator. The library posts the
// key's assertion to https://oauth2.googleapis.com/token whatever the file's token_uri says; the
// emulator's identity port is the HTTPS_PROXY that tunnels that host to its own token endpoint, which
// checks the assertion as Google does. Each failure the endpoint can produce is read by the doctor.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { type Emulator, startEmulator } from 'pg-passwordless-emulator';
import { gcpDoctor } from '../helpers/gcp-doctor.ts';
import { runScenario } from '../helpers/run-scenario.ts';

const ACCOUNT = 'orders@shop-prod.iam.gserviceaccount.com';
const USER = 'orders@shop-prod.iam';

describe('gcp key file: the real GoogleAuth against the emulator’s token endpoint', {
  concurrency: 1,
}, () => {
  let emulator: Emulator;
  let clockAheadMs = 0;

  before(async () => {
    emulator = await startEmulator({
      cloud: 'gcp',
      gcpCredential: 'key-file',
      gcpProjectId: 'shop-prod',
      gcpServiceAccounts: [ACCOUNT],
      now: () => Date.now() + clockAheadMs,
    });
  });
  after(() => emulator?.stop());

  it('writes a service-account key file whose token_uri is the emulator’s, and no metadata server is named', () => {
    const file = JSON.parse(
      readFileSync(emulator.env.GOOGLE_APPLICATION_CREDENTIALS as string, 'utf8'),
    ) as Record<string, string>;
    assert.equal(file.type, 'service_account');
    assert.equal(file.client_email, ACCOUNT);
    assert.match(file.private_key as string, /^-----BEGIN PRIVATE KEY-----/);
    assert.match(file.private_key_id as string, /^[0-9a-f]{40}$/);
    assert.match(file.token_uri as string, /^https:\/\/127\.0\.0\.1:\d+\/token$/);
    assert.equal(emulator.env.GCE_METADATA_HOST, undefined);
    assert.equal(emulator.env.METADATA_SERVER_DETECTION, 'none');
    assert.equal(emulator.env.HTTPS_PROXY, emulator.identityUrl);
  });

  it('createPool: 20 cold connections, one assertion exchanged, the user from the key’s client_email', async () => {
    const before = emulator.identityRequests().length;
    const result = await runScenario('cloud.ts', ['pool'], {
      ...emulator.env,
      SCENARIO_USER: '',
      SCENARIO_CONNECTIONS: '20',
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.output.user, USER);
    assert.equal(result.output.role, USER);
    const requests = emulator.identityRequests().slice(before);
    assert.deepEqual(
      requests.map((request) => `${request.method} ${request.path}`),
      ['POST /token'],
      'one assertion, posted through the tunnel; the metadata server is never asked',
    );
  });

  it('psql logs in with the token the SDK got for the key', async () => {
    const result = await runScenario('cloud.ts', ['psql'], emulator.env);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.output.stdout, USER, String(result.output.stderr));
  });

  it('doctor names the file, its type and account, and where the assertion really goes', async () => {
    const { code, step } = await gcpDoctor(emulator.env);
    assert.equal(code, 0, JSON.stringify(step('token')));
    const credential = step('credential');
    assert.equal(credential.status, 'ok');
    const file = emulator.gcp?.credentialFile() as string;
    assert.ok(
      credential.detail.includes(`GOOGLE_APPLICATION_CREDENTIALS=${file} (type service_account, ${ACCOUNT}`),
    );
    assert.match(
      credential.detail,
      /google-auth-library posts its assertions to https:\/\/oauth2\.googleapis\.com\/token, not the file's token_uri https:\/\/127\.0\.0\.1:\d+\/token/,
    );
    assert.ok(credential.detail.includes(`through HTTPS_PROXY=${emulator.identityUrl}`));
    assert.equal(step('token').data?.serviceAccount, ACCOUNT);
    assert.equal(step('login').status, 'ok');
  });

  it('an assertion signed by a clock 2 hours behind the endpoint’s: the endpoint’s words, and the clock to fix', async () => {
    clockAheadMs = 2 * 3600_000;
    try {
      const { code, step } = await gcpDoctor(emulator.env);
      assert.equal(code, 1);
      const token = step('token');
      assert.equal(token.code, 'TOKEN_ENDPOINT_FAILED');
      assert.match(
        token.detail,
        /refused \(400\): invalid_grant: Invalid JWT: Token must be a short-lived token \(60 minutes\)/,
      );
      assert.match(token.hint ?? '', /clock/);
    } finally {
      clockAheadMs = 0;
    }
  });

  it('an unreachable token endpoint: a network failure, with the endpoint google-auth-library posts to', async () => {
    emulator.setFaults({ drop: true });
    try {
      const { code, step } = await gcpDoctor(emulator.env);
      assert.equal(code, 1);
      const token = step('token');
      assert.equal(token.code, 'TOKEN_ENDPOINT_FAILED');
      assert.match(token.detail, /could not be reached/);
      assert.match(token.hint ?? '', /https:\/\/oauth2\.googleapis\.com\/token .*HTTPS_PROXY/);
    } finally {
      emulator.clearFaults();
    }
  });

  it('a deleted key: "Invalid JWT Signature.", and a new key to create', async () => {
    emulator.gcp?.deleteKey();
    const { code, step } = await gcpDoctor(emulator.env);
    assert.equal(code, 1);
    const token = step('token');
    assert.match(token.detail, /invalid_grant: Invalid JWT Signature\./);
    assert.match(
      token.hint ?? '',
      /is not a key of orders@shop-prod\.iam\.gserviceaccount\.com .*keys create/,
    );
  });
});
