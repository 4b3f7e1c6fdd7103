// `pg-passwordless exec` and `token` on the two identity paths of EKS: the built CLI, with the real AWS
// SDK's default chain finding IRSA (a web identity token file and STS) or EKS Pod Identity (the agent
// and its token file) in the environment the emulator exports, as a pod's would be.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Emulator, startEmulator } from 'pg-passwordless-emulator';
import { runCli, runProgram } from './run-cli.ts';

const psqlCurrentUser = ['--', 'psql', '-X', '-At', '-c', 'select current_user'];

for (const kind of ['web-identity', 'pod-identity'] as const) {
  describe(`pg-passwordless exec and token with ${kind}`, () => {
    let emulator: Emulator;
    before(async () => {
      emulator = await startEmulator({ cloud: 'aws', awsCredential: kind });
    });
    after(() => emulator?.stop());

    it('exec: psql logs in as the IAM user', async () => {
      const result = await runCli(['exec', ...psqlCurrentUser], emulator.env);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout.trim(), 'app_user');
    });

    it('token: psql logs in with it, a token signed with temporary credentials', async () => {
      const token = await runCli(['token'], emulator.env);
      assert.equal(token.code, 0, token.stderr);
      assert.match(token.stdout, /X-Amz-Security-Token=/);
      const psql = await runProgram('psql', ['-X', '-At', '-c', 'select current_user'], {
        ...emulator.env,
        PGPASSWORD: token.stdout.trim(),
      });
      assert.equal(psql.code, 0, psql.stderr);
      assert.equal(psql.stdout.trim(), 'app_user');
    });

    it('exec with a token file gone: the command never runs, and the error names the file', async () => {
      const variable =
        kind === 'web-identity' ? 'AWS_WEB_IDENTITY_TOKEN_FILE' : 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE';
      const result = await runCli(['exec', ...psqlCurrentUser], {
        ...emulator.env,
        [variable]: '/nonexistent/token',
      });
      assert.equal(result.code, 1);
      assert.equal(result.stdout, '');
      assert.match(
        result.stderr,
        new RegExp(
          `CREDENTIAL_UNAVAILABLE: .*${variable} \\(/nonexistent/token\\) cannot be read \\(ENOENT\\)`,
        ),
      );
      assert.match(result.stderr, /Hint: /);
    });
  });
}
