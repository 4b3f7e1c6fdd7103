// The preload on the two identity paths of EKS: an app that knows nothing of tokens, started with
// `node --import pg-passwordless/register`, logs in through the real AWS SDK's default chain with IRSA
// (a web identity token file exchanged at STS) or EKS Pod Identity (the agent and its token file); and
// a token file gone bad stops the app with the preload's typed error and its hint.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Emulator, startEmulator } from 'pg-passwordless-emulator';
import { assertBuildIsCurrent, clientEnv, runApp } from './run-app.ts';

// The published form is the built file: a stale or missing build would test old code.
before(assertBuildIsCurrent);

for (const kind of ['web-identity', 'pod-identity'] as const) {
  describe(`preload with ${kind}, the real SDK against the emulator`, () => {
    let emulator: Emulator;
    before(async () => {
      emulator = await startEmulator({ cloud: 'aws', awsCredential: kind });
    });
    after(() => emulator?.stop());

    it('raw pg, ESM: logs in as the IAM user', async () => {
      const run = await runApp('pg-pool.mjs', clientEnv(emulator));
      assert.equal(run.code, 0, `exit ${run.code}\n${run.stdout}\n${run.stderr}`);
      assert.deepEqual(run.output, { role: 'app_user' });
    });

    it('an expired token in the file: the app fails with the refusal and what to fix', async () => {
      await emulator.aws?.writeTokenFile({ lifetimeSeconds: -60 });
      try {
        const run = await runApp('pg-pool.mjs', clientEnv(emulator));
        assert.notEqual(run.code, 0);
        assert.match(run.stderr, /TOKEN_ENDPOINT_FAILED/);
        assert.match(
          run.stderr,
          kind === 'web-identity' ? /ExpiredTokenException: Token expired/ : /token is expired/,
        );
        assert.match(run.stderr, /Hint: .*has expired: the kubelet rewrites a projected token/);
        assert.doesNotMatch(run.stderr, /eyJ[\w-]+\.[\w-]+\./, 'the service-account token is never printed');
      } finally {
        await emulator.aws?.writeTokenFile();
      }
    });
  });
}
