import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import pg from 'pg';
import { gatewayClientConfig } from '../../pg-passwordless/test/helpers/pg-client.ts';
import { startPgliteBackend } from '../src/backend-pglite.ts';
import { findPostgresBinaries, startPostgresBackend } from '../src/backend-postgres.ts';
import { parseEmulatorArgs } from '../src/cli.ts';
import { startEmulator } from '../src/index.ts';
import { findPgbouncer, startPgbouncer } from '../src/pgbouncer.ts';

const run = promisify(execFile);
const asRoot = process.getuid?.() === 0;

/** A plain TCP login (no password) to 127.0.0.1:port; resolves with the error. */
async function tcpLogin(port: number): Promise<Error & { code?: string }> {
  const client = new pg.Client({
    host: '127.0.0.1',
    port,
    user: 'postgres',
    database: 'postgres',
    ssl: false,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.end();
    return assert.fail(`a TCP login to port ${port} succeeded`);
  } catch (error) {
    return error as Error & { code?: string };
  }
}

/** psql as another OS user (nobody) against a socket folder; resolves with its error output. */
async function loginAsNobody(folder: string, port: number): Promise<string> {
  const psql = `${findPostgresBinaries()}/psql`;
  try {
    await run('runuser', [
      '-u',
      'nobody',
      '--',
      psql,
      '-h',
      folder,
      '-p',
      String(port),
      '-U',
      'postgres',
      '-c',
      'select 1',
    ]);
    return assert.fail('another OS user logged in');
  } catch (error) {
    return (error as { stderr: string }).stderr;
  }
}

describe('emulator isolation: loopback only, backend reachable only by the gateway', () => {
  it('refuses a host that is not loopback with CONFIG_INVALID and a hint, in the API and the CLI', async () => {
    for (const host of ['0.0.0.0', '::', '192.168.1.10', 'example.com']) {
      await assert.rejects(
        startEmulator({ host, backend: 'pglite' }),
        (error: Error & { code?: string; hint?: string }) => {
          assert.equal(error.code, 'CONFIG_INVALID');
          assert.match(error.message, /loopback only/);
          assert.match(error.hint ?? '', /127\.0\.0\.1/);
          return true;
        },
      );
      assert.throws(() => parseEmulatorArgs(['--host', host], {}), { code: 'CONFIG_INVALID' });
    }
  });

  it('serves a certificate that names the loopback address it listens on', async () => {
    const emulator = await startEmulator({ host: '127.0.0.2', backend: 'pglite' });
    try {
      assert.equal(emulator.gateway.host, '127.0.0.2');
      const client = new pg.Client(
        gatewayClientConfig(emulator, 'orders-api', await emulator.issueToken('orders-api')),
      );
      await client.connect(); // verifies the chain, and that the certificate names 127.0.0.2
      const { stream } = (client as unknown as { connection: { stream: TLSSocket } }).connection;
      assert.equal(stream.getPeerX509Certificate()?.checkIP('127.0.0.2'), '127.0.0.2');
      await client.end();
    } finally {
      await emulator.stop();
    }
  });

  it('runs the private PostgreSQL on a private Unix socket only: a TCP login to its port is refused', {
    skip: !findPostgresBinaries() && 'needs a system PostgreSQL',
  }, async () => {
    const backend = await startPostgresBackend();
    try {
      assert.deepEqual(await backend.adminSql('show listen_addresses'), []);
      const error = await tcpLogin(backend.port);
      assert.equal(error.code, 'ECONNREFUSED');
      assert.equal(statSync(backend.host).mode & 0o777, 0o700, 'the socket folder is private');
      if (asRoot) assert.match(await loginAsNobody(backend.host, backend.port), /Permission denied/);
    } finally {
      await backend.stop();
    }
  });

  it('runs PgBouncer on a private Unix socket only, in front of that socket', async (t) => {
    if (!findPgbouncer() || !findPostgresBinaries()) return t.skip('pgbouncer not installed');
    const backend = await startPostgresBackend();
    try {
      const bouncer = await startPgbouncer(backend, ['postgres']);
      try {
        const error = await tcpLogin(bouncer.port);
        assert.equal(error.code, 'ECONNREFUSED');
        assert.equal(statSync(bouncer.host).mode & 0o777, 0o700, 'the socket folder is private');
        if (asRoot) assert.match(await loginAsNobody(bouncer.host, bouncer.port), /Permission denied/);
      } finally {
        await bouncer.stop();
      }
    } finally {
      await backend.stop();
    }
  });

  it('serves embedded PGlite on a private Unix socket only', async () => {
    const backend = await startPgliteBackend();
    try {
      assert.ok(backend.host.startsWith('/'));
      assert.equal(statSync(backend.host).mode & 0o777, 0o700, 'the socket folder is private');
    } finally {
      await backend.stop();
    }
  });
});
