import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Emulator, startEmulator } from 'pg-passwordless-emulator';
import { runScript } from '../../packages/pg-passwordless/test/helpers/run-scenario.ts';

describe('the built package in a plain script', () => {
  let emulator: Emulator;
  before(async () => {
    emulator = await startEmulator({ backend: 'pglite' });
  });
  after(() => emulator?.stop());

  it('resolves a token and exits on its own', async () => {
    const result = await runScript(
      fileURLToPath(new URL('./resolve-token.mjs', import.meta.url)),
      [],
      emulator.env,
      20_000,
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^resolved a token of \d+ characters for role orders-api$/m);
  });
});
