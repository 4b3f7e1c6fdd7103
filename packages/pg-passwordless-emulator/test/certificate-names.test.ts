// What the gateway's certificate names: the default (localhost and the loopback addresses), IP entries
// only (`certificateNames: 'ip-only'`, `--cert-ip-only`), or an exact list. libpq (psql, verify-full)
// checks the gateway as a client of a server reached by IP address would.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createCertificates } from '../src/certificates.ts';
import { parseEmulatorArgs } from '../src/cli.ts';
import { type Emulator, startEmulator } from '../src/index.ts';

/** psql with the token in PGPASSWORD (never on the command line), verify-full against the emulator's CA. */
function psql(
  emulator: Emulator,
  token: string,
  host: string,
): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn('psql', ['-X', '-At', '-c', 'select current_user'], {
      env: { ...process.env, ...emulator.env, PGHOST: host, PGPASSWORD: token, PGSSLMODE: 'verify-full' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('gateway certificate names', () => {
  it('ip-only keeps the IP addresses (the listening one too) and drops every DNS name, common name included', () => {
    const server = new X509Certificate(
      createCertificates(['127.0.0.2', 'gateway.test'], 'ip-only').serverCertPem,
    );
    assert.equal(
      server.subjectAltName,
      'IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, IP Address:127.0.0.2',
    );
    assert.equal(server.subject, 'CN=127.0.0.1');
    assert.equal(server.checkHost('localhost'), undefined);
    assert.equal(server.checkHost('gateway.test'), undefined);
    assert.equal(server.checkIP('127.0.0.2'), '127.0.0.2');
  });

  it('a list is exactly what the certificate names', () => {
    const server = new X509Certificate(
      createCertificates(['127.0.0.1'], ['10.0.0.9', 'db.internal']).serverCertPem,
    );
    assert.equal(server.subjectAltName, 'DNS:db.internal, IP Address:10.0.0.9');
    assert.equal(server.subject, 'CN=10.0.0.9');
    assert.equal(server.checkIP('127.0.0.1'), undefined);
  });

  it('--cert-ip-only sets certificateNames; a list that names nothing, or an unknown word, is refused before anything starts', async () => {
    assert.equal(parseEmulatorArgs(['--cert-ip-only'], {}).options.certificateNames, 'ip-only');
    assert.equal(parseEmulatorArgs([], {}).options.certificateNames, undefined);
    await assert.rejects(startEmulator({ certificateNames: [] }), { code: 'CONFIG_INVALID' });
    await assert.rejects(startEmulator({ certificateNames: 'dns-only' as never }), {
      code: 'CONFIG_INVALID',
      message: /certificateNames must be 'default', 'ip-only' or a list/,
    });
  });

  describe('an emulator started with ip-only', () => {
    let emulator: Emulator;
    before(async () => {
      emulator = await startEmulator({ certificateNames: 'ip-only' });
    });
    after(() => emulator?.stop());

    it('psql with verify-full logs in by address, and is refused by the name localhost', async () => {
      const token = await emulator.issueToken('orders-api');
      const byAddress = await psql(emulator, token, '127.0.0.1');
      assert.equal(byAddress.code, 0, byAddress.stderr);
      assert.equal(byAddress.stdout.trim(), 'orders-api');
      const byName = await psql(emulator, token, 'localhost');
      assert.equal(byName.code, 2, byName.stdout);
      assert.match(
        byName.stderr,
        /server certificate for "127\.0\.0\.1" \(and \d+ other names?\) does not match host name "localhost"/,
      );
    });
  });
});
