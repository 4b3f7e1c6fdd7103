import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Emulator, startEmulator } from 'pg-passwordless-emulator';
import { runScript } from '../../packages/pg-passwordless/test/helpers/run-scenario.ts';

const script = fileURLToPath(new URL('./migrate.ts', import.meta.url));

describe('node-pg-migrate runner with a pgConfig ClientConfig', () => {
  let emulator: Emulator;
  before(async () => {
    emulator = await startEmulator({ cloud: 'azure' });
  });
  after(() => emulator?.stop());

  it('applies the migration up as the managed identity, once', async () => {
    const first = await runScript(script, [], emulator.env, 60_000);
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(first.output, { applied: ['1767225600000_create-invoices'] });

    const [table] = await emulator.adminSql(
      "select tableowner from pg_tables where schemaname = 'public' and tablename = 'invoices'",
    );
    assert.deepEqual(table, ['orders-api']);

    // A second run finds it recorded in pgmigrations and applies nothing.
    const second = await runScript(script, [], emulator.env, 60_000);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(second.output, { applied: [] });
  });
});
