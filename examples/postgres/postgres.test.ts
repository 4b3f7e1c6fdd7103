import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startEmulator } from 'pg-passwordless-emulator';
import { runScript } from '../../packages/pg-passwordless/test/helpers/run-scenario.ts';

const script = fileURLToPath(new URL('./postgres.mjs', import.meta.url));

describe('postgres.js example through the built package, real SDK of each cloud', () => {
  for (const [cloud, role] of [
    ['azure', 'orders-api'],
    ['aws', 'app_user'],
    ['gcp', 'orders@pg-passwordless-emulator.iam'],
  ] as const) {
    it(`${cloud}: logs in as ${role}, parallel logins share one token fetch`, async () => {
      const emulator = await startEmulator({ cloud });
      try {
        const result = await runScript(script, [], emulator.env, 30_000);
        assert.equal(result.code, 0, result.stderr);
        assert.equal(
          result.stdout,
          `postgres.js logged in as ${role}\n5 queries in parallel; token fetches: 1\n`,
        );
        const { loginsAccepted, loginsRejected } = emulator.counters().gateway;
        assert.ok(loginsAccepted > 1, `${loginsAccepted} logins`);
        assert.equal(loginsRejected, 0);
      } finally {
        await emulator.stop();
      }
    });
  }
});
