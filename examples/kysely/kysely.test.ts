import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startEmulator } from 'pg-passwordless-emulator';
import { runScript } from '../../packages/pg-passwordless/test/helpers/run-scenario.ts';

const script = fileURLToPath(new URL('./kysely.ts', import.meta.url));

// Each cloud in its own process: the real SDKs (@azure/identity, @aws-sdk/rds-signer,
// google-auth-library) against the emulator's identity endpoints, Kysely against its gateway.
describe('Kysely on createPool, with the real SDK of each cloud', () => {
  for (const [cloud, role] of [
    ['azure', 'orders-api'],
    ['aws', 'app_user'],
    ['gcp', 'orders@pg-passwordless-emulator.iam'],
  ] as const) {
    it(`${cloud}: creates, inserts and selects as ${role}`, async () => {
      const emulator = await startEmulator({ cloud });
      try {
        const result = await runScript(script, [], emulator.env, 30_000);
        assert.equal(result.code, 0, result.stderr);
        assert.deepEqual(result.output, { role, notes: 1 });
        assert.equal(emulator.counters().tokensIssued, 1);
      } finally {
        await emulator.stop();
      }
    });
  }
});
