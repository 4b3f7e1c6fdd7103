import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startEmulator } from 'pg-passwordless-emulator';
import { runScript } from '../../packages/pg-passwordless/test/helpers/run-scenario.ts';

const script = fileURLToPath(new URL('./knex.mjs', import.meta.url));

describe('knex through the built package, on each cloud (real SDKs)', () => {
  for (const [cloud, role] of [
    ['azure', 'orders-api'],
    ['aws', 'app_user'],
    ['gcp', 'orders@pg-passwordless-emulator.iam'],
  ] as const) {
    it(`${cloud}: logs in as ${role} with no password anywhere`, async () => {
      const emulator = await startEmulator({ cloud, backend: 'pglite' });
      try {
        const result = await runScript(script, [], emulator.env, 30_000);
        assert.equal(result.code, 0, result.stderr);
        assert.match(
          result.stdout,
          new RegExp(`^logged in as ${role.replace('.', '\\.')} \\(PostgreSQL \\d+`, 'm'),
        );
      } finally {
        await emulator.stop();
      }
    });
  }
});
