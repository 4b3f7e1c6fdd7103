// pg-passwordless/pg with a libpq key/value connection string, as a cloud portal shows it (password
// included, which the token replaces): the real @azure/identity SDK against the emulator, real pg, the
// CA read from the string's quoted sslrootcert. Only the key/value string names the target.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Emulator, startEmulator } from 'pg-passwordless-emulator';
import { runScenario } from '../helpers/run-scenario.ts';

describe('createPool and pgConfig with a key/value DATABASE_URL (Azure emulator)', () => {
  let emulator: Emulator;
  let folder: string;
  before(async () => {
    emulator = await startEmulator({ cloud: 'azure' });
    folder = mkdtempSync(join(tmpdir(), 'pg key value '));
  });
  after(async () => {
    await emulator?.stop();
    rmSync(folder, { recursive: true, force: true });
  });

  it('logs in with the token, verifying TLS with the quoted sslrootcert, and passes application_name on', async () => {
    const caPath = join(folder, 'ca.pem');
    copyFileSync(emulator.caPath, caPath);
    const {
      PGHOST,
      PGPORT,
      PGUSER,
      PGDATABASE,
      PGSSLMODE,
      PGSSLROOTCERT,
      DATABASE_URL,
      NODE_EXTRA_CA_CERTS,
      ...identity
    } = emulator.env;
    const keyValue = `host=${PGHOST} port=${PGPORT} dbname=${PGDATABASE} user=${PGUSER} password='from the portal' sslmode=verify-full sslrootcert='${caPath}' application_name='orders api'`;
    const result = await runScenario('key-value-pool.ts', [], {
      ...(identity as Record<string, string>),
      DATABASE_URL: keyValue,
    });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.output, {
      user: 'orders-api',
      database: PGDATABASE,
      applicationName: 'orders api',
      config: {
        host: PGHOST,
        port: Number(PGPORT),
        database: PGDATABASE,
        user: 'orders-api',
        applicationName: 'orders api',
        passwordIsFunction: true,
        rejectUnauthorized: true,
        ca: true,
      },
    });
  });
});
