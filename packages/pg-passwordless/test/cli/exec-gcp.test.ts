// `pg-passwordless token` and `exec` on GCP with a service-account key file and with workload identity
// federation: the real google-auth-library in the CLI's process, psql in the child, verify-full.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Emulator, startEmulator } from 'pg-passwordless-emulator';
import { runCli, runProgram } from './run-cli.ts';

const USER = 'orders@pg-passwordless-emulator.iam';

for (const gcpCredential of ['key-file', 'external-account'] as const) {
  describe(`pg-passwordless token and exec (gcp, ${gcpCredential})`, () => {
    let emulator: Emulator;
    before(async () => {
      emulator = await startEmulator({ cloud: 'gcp', gcpCredential });
    });
    after(() => emulator?.stop());

    it('token: psql logs in with it; --json names the user', async () => {
      const token = await runCli(['token'], emulator.env);
      assert.equal(token.code, 0, token.stderr);
      const psql = await runProgram('psql', ['-X', '-At', '-c', 'select current_user'], {
        ...emulator.env,
        PGPASSWORD: token.stdout.trim(),
      });
      assert.equal(psql.code, 0, psql.stderr);
      assert.equal(psql.stdout.trim(), USER);
      const json = await runCli(['token', '--json'], emulator.env);
      assert.equal((JSON.parse(json.stdout) as { user: string }).user, USER);
    });

    it('exec: psql prints the role', async () => {
      const result = await runCli(
        ['exec', '--', 'psql', '-X', '-At', '-c', 'select current_user'],
        emulator.env,
      );
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout.trim(), USER);
    });
  });
}
