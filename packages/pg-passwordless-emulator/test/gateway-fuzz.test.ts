import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createSecureContext } from 'node:tls';
import pg from 'pg';
import type { Backend } from '../src/backend.ts';
import { startPgliteBackend } from '../src/backend-pglite.ts';
import { findPostgresBinaries, startPostgresBackend } from '../src/backend-postgres.ts';
import { createCertificates } from '../src/certificates.ts';
import { type Gateway, startGateway } from '../src/gateway.ts';
import { passwordFailed } from '../src/login-validator.ts';
import { fuzzWireEndpoint } from './helpers/wire-fuzz.ts';

// Replay a failure with FUZZ_SEED=<the seed in the message>.
const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 32));
// Small, so slow clients are cut quickly; the emulator's gateway uses 15 s.
const HANDSHAKE_TIMEOUT_MS = 2_000;

describe('gateway: a seeded fuzz of the login leaves it serving', () => {
  let backend: Backend;
  let gateway: Gateway;
  const certificates = createCertificates();
  // A token of the test's own: the fuzz is about the wire, the cloud checks have their own tests.
  const token = randomBytes(32).toString('base64url');
  const unexpected: unknown[] = [];
  const record = (error: unknown) => unexpected.push(error);

  before(async () => {
    process.on('uncaughtException', record);
    process.on('unhandledRejection', record);
    backend = findPostgresBinaries() ? await startPostgresBackend() : await startPgliteBackend();
    gateway = await startGateway({
      host: '127.0.0.1',
      port: 0,
      secureContext: createSecureContext({
        cert: certificates.serverCertPem,
        key: certificates.serverKeyPem,
        minVersion: 'TLSv1.2',
      }),
      allowInsecure: false,
      validator: {
        check: async (user, password) =>
          password === token ? { ok: true, role: 'postgres' } : passwordFailed(user),
      },
      backend,
      handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
    });
  });
  after(async () => {
    await gateway?.close();
    await backend?.stop();
    process.off('uncaughtException', record);
    process.off('unhandledRejection', record);
  });

  const validLogin = async () => {
    const client = new pg.Client({
      host: gateway.host,
      port: gateway.port,
      user: 'postgres',
      database: 'postgres',
      password: token,
      ssl: { ca: certificates.caCertPem, rejectUnauthorized: true },
    });
    client.on('error', () => {});
    try {
      await client.connect();
      const { rows } = await client.query('select 1 as one');
      assert.equal(rows[0].one, 1);
    } finally {
      await client.end().catch(() => {});
    }
  };

  it('closes every malformed, slow or refused login, and 500 valid logins succeed', async (t) => {
    t.diagnostic(`seed ${seed} (FUZZ_SEED=${seed} replays it)`);
    const report = await fuzzWireEndpoint({
      host: gateway.host,
      port: gateway.port,
      validLogin,
      handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
      seed,
      cases: 300,
      validLogins: 500,
    });
    t.diagnostic(`${report.cases} cases ${JSON.stringify(report.byKind)} in ${report.durationMs} ms`);
    assert.deepEqual(report.failures, [], `seed ${seed}: ${report.failures.length} broken expectations`);
    assert.equal(report.validLogins, 500, `seed ${seed}`);

    const stats = gateway.stats();
    assert.ok(stats.handshakeTimeouts > 0, `seed ${seed}: slow clients were cut by the timeout`);
    assert.ok(stats.loginsRejected > 0 && stats.protocolErrors > 0, `seed ${seed}: ${JSON.stringify(stats)}`);
    assert.ok(stats.loginsAccepted >= 502, `seed ${seed}: ${JSON.stringify(stats)}`);
    await validLogin();
    assert.deepEqual(unexpected, [], `seed ${seed}: no uncaught error or unhandled rejection`);
  });
});
