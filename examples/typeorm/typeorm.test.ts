import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startEmulator } from 'pg-passwordless-emulator';
import { runScript } from '../../packages/pg-passwordless/test/helpers/run-scenario.ts';

const script = fileURLToPath(new URL('./typeorm.mjs', import.meta.url));

describe('typeorm through the built package', () => {
  it('azure: logs in as orders-api with the real @azure/identity and no password anywhere', async () => {
    const emulator = await startEmulator({ cloud: 'azure', backend: 'pglite' });
    try {
      const result = await runScript(script, [], emulator.env, 30_000);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^logged in as orders-api \(PostgreSQL \d+/m);
    } finally {
      await emulator.stop();
    }
  });
});
