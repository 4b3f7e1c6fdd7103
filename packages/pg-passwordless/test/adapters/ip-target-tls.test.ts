// A target given as an IP address is verified against the certificate's IP entries, on every driver
// path: the pg adapter, postgres.js (which hands tls.connect a socket and no host, so Node would check
// the certificate against the name "localhost"), and the preload. The emulator's gateway presents a
// certificate with IP entries only (what a server reached by IP address has), one with DNS:localhost
// only (the name Node falls back to, which would let any certificate for "localhost" pass), or one for
// another address. The CA is the emulator's, named by tls.caFile: only the name check differs.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type CertificateNames, type Emulator, startEmulator } from 'pg-passwordless-emulator';
import postgres from 'postgres';
import { createPool } from '../../src/adapters/pg.ts';
import { postgresOptions } from '../../src/adapters/postgres.ts';
import type { Settings } from '../../src/index.ts';
import { emulatorCredential, emulatorSettings } from '../helpers/emulator-credential.ts';
import { cleanEnv } from '../helpers/run-scenario.ts';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const pgClientApp = fileURLToPath(new URL('../register/apps/pg-client.cjs', import.meta.url));

/** Node's error for a certificate that does not name the host or address dialled. */
const NOT_NAMED = {
  code: 'ERR_TLS_CERT_ALTNAME_INVALID',
  message: /IP: 127\.0\.0\.1 is not in the cert's list/,
};

function ipUrl(emulator: Emulator, query = ''): string {
  const { port } = emulator.gateway;
  return `postgresql://orders-api@127.0.0.1:${port}/${emulator.backend.database}${query}`;
}

async function pgCurrentUser(url: string, settings: Settings): Promise<unknown> {
  const pool = await createPool(url, { settings, pool: { connectionTimeoutMillis: 10_000 } });
  try {
    return (await pool.query('select current_user')).rows[0]?.current_user;
  } finally {
    await pool.end();
  }
}

async function postgresJsCurrentUser(url: string, settings: Settings): Promise<unknown> {
  const sql = postgres({ ...(await postgresOptions(url, settings)), max: 1, connect_timeout: 10 });
  try {
    return (await sql`select current_user`)[0]?.current_user;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/** `node --import pg-passwordless/register` with an app that reads PGHOST and friends alone. */
function preloadRun(emulator: Emulator): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: Record<string, string | undefined> = { ...cleanEnv(), ...emulator.env };
  // Only the library's TLS options (PGSSLROOTCERT) may verify the gateway; not the runner's own flags.
  delete env.NODE_EXTRA_CA_CERTS;
  delete env.NODE_OPTIONS;
  delete env.NODE_TEST_CONTEXT;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'pg-passwordless/register', pgClientApp], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function withEmulator(certificateNames: CertificateNames): {
  emulator: () => Emulator;
  settings: () => Settings;
} {
  let emulator: Emulator | undefined;
  before(async () => {
    emulator = await startEmulator({ cloud: 'azure', certificateNames });
  });
  after(() => emulator?.stop());
  const current = () => emulator as Emulator;
  return { emulator: current, settings: () => emulatorSettings(current, emulatorCredential(current)) };
}

describe('an IP target against a certificate with IP entries only (no DNS:localhost)', () => {
  const { emulator, settings } = withEmulator('ip-only');

  it('pg adapter: connects with verify-full', async () => {
    assert.equal(await pgCurrentUser(ipUrl(emulator()), settings()), 'orders-api');
  });

  it('postgres.js adapter: connects with verify-full', async () => {
    assert.equal(await postgresJsCurrentUser(ipUrl(emulator()), settings()), 'orders-api');
  });

  it('the preload: connects with verify-full', async () => {
    const run = await preloadRun(emulator());
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout.trim()), { role: 'orders-api' });
  });
});

for (const [names, what] of [
  [['localhost'], 'DNS:localhost only (the name Node checks when no host is passed)'],
  [['127.0.0.2'], 'another address (IP Address:127.0.0.2)'],
] as const) {
  describe(`an IP target (127.0.0.1) against a certificate for ${what}`, () => {
    const { emulator, settings } = withEmulator([...names]);

    it('pg adapter: refused with verify-full', async () => {
      await assert.rejects(pgCurrentUser(ipUrl(emulator()), settings()), NOT_NAMED);
    });

    it('postgres.js adapter: refused with verify-full', async () => {
      await assert.rejects(postgresJsCurrentUser(ipUrl(emulator()), settings()), NOT_NAMED);
    });

    it('the preload: refused with verify-full', async () => {
      const run = await preloadRun(emulator());
      assert.equal(run.code, 1, run.stdout);
      assert.match(run.stderr, /ERR_TLS_CERT_ALTNAME_INVALID/);
    });

    it('verify-ca with the server’s own CA named (Cloud SQL by IP address) still connects: the name is not checked', async () => {
      const url = ipUrl(emulator(), '?sslmode=verify-ca');
      assert.equal(await pgCurrentUser(url, settings()), 'orders-api');
      assert.equal(await postgresJsCurrentUser(url, settings()), 'orders-api');
    });
  });
}
