// The preload on GCP for each credential the emulator hands out, as users run it: an unmodified pg app
// started with `node --import pg-passwordless/register`, GoogleAuth reading its credentials from the
// environment. NODE_EXTRA_CA_CERTS stays: the SDK reaches the emulator's HTTPS token endpoints, which
// its CA signed, as it reaches Google's under a public CA.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Emulator, type EmulatorOptions, startEmulator } from 'pg-passwordless-emulator';
import { assertBuildIsCurrent, runApp } from './run-app.ts';

before(assertBuildIsCurrent);

const cases: Array<[string, EmulatorOptions, string[]]> = [
  ['a service-account key file', { gcpCredential: 'key-file' }, ['POST /token']],
  [
    'workload identity federation',
    { gcpCredential: 'external-account' },
    [
      'POST /v1/token',
      'POST /v1/projects/-/serviceAccounts/orders@pg-passwordless-emulator.iam.gserviceaccount.com:generateAccessToken',
    ],
  ],
  [
    'AlloyDB through the metadata server',
    { gcpService: 'alloydb' },
    ['GET /computeMetadata/v1/instance/service-accounts/default/token'],
  ],
];

for (const [what, options, tokenRequests] of cases) {
  describe(`preload on gcp with ${what}`, () => {
    let emulator: Emulator;
    before(async () => {
      emulator = await startEmulator({ cloud: 'gcp', ...options });
    });
    after(() => emulator?.stop());

    it('raw pg, ESM: logs in as the service account’s IAM user, with one token fetched', async () => {
      const run = await runApp('pg-pool.mjs', emulator.env);
      assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
      assert.deepEqual(run.output, { role: 'orders@pg-passwordless-emulator.iam' });
      const fetched = emulator
        .identityRequests()
        .filter((request) => request.method === 'POST' || request.path.endsWith('/token'))
        .map((request) => `${request.method} ${request.path}`);
      assert.deepEqual(fetched, tokenRequests);
    });
  });
}
