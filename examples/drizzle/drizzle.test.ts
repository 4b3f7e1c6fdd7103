import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type CloudName, type Emulator, startEmulator } from 'pg-passwordless-emulator';
import { runScript } from '../../packages/pg-passwordless/test/helpers/run-scenario.ts';

const script = fileURLToPath(new URL('./drizzle.mjs', import.meta.url));

const roles: Record<CloudName, string> = {
  azure: 'orders-api',
  aws: 'app_user',
  gcp: 'orders@pg-passwordless-emulator.iam',
};

for (const cloud of ['azure', 'aws', 'gcp'] as const) {
  describe(`drizzle example through the built package on ${cloud}, real SDK`, () => {
    let emulator: Emulator;
    before(async () => {
      emulator = await startEmulator({ cloud });
    });
    after(() => emulator?.stop());

    for (const driver of ['pg', 'postgres']) {
      it(`drizzle over ${driver}: creates, inserts and selects as ${roles[cloud]}`, async () => {
        const result = await runScript(script, [driver], emulator.env, 30_000);
        assert.equal(result.code, 0, result.stderr);
        // Only the last line: postgres.js prints the server's NOTICE (table exists) on the second run.
        assert.equal(
          result.stdout.trim().split('\n').pop(),
          `drizzle over ${driver} logged in as ${roles[cloud]}; latest run: ${driver}-hourly (2 attempts)`,
        );
      });
    }
  });
}
