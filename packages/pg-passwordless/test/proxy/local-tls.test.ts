// The proxy's own TLS files: the key's owner and mode are checked as PostgreSQL checks ssl_key_file.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createCertificates } from '../../../pg-passwordless-emulator/src/certificates.ts';
import { readLocalTls } from '../../src/proxy/local-tls.ts';

describe('readLocalTls', () => {
  const folder = mkdtempSync(join(tmpdir(), 'local-tls-'));
  after(() => rmSync(folder, { recursive: true, force: true }));
  const certificates = createCertificates();
  const cert = join(folder, 'proxy.crt');
  const key = join(folder, 'proxy.key');
  writeFileSync(cert, certificates.serverCertPem);
  writeFileSync(key, certificates.serverKeyPem, { mode: 0o600 });

  const refusal = (pattern: RegExp) => (error: { code?: string; message: string }) =>
    error.code === 'CONFIG_INVALID' && pattern.test(error.message);

  it('takes a 0600 key; 0640 only when root owns the key (a group such as ssl-cert reads it then)', () => {
    chmodSync(key, 0o600);
    assert.ok(readLocalTls(cert, key));
    chmodSync(key, 0o640);
    if (process.getuid?.() === 0) assert.ok(readLocalTls(cert, key), 'root’s key, group-readable');
    else assert.throws(() => readLocalTls(cert, key), refusal(/is open to others \(mode 640\)/));
  });

  it('refuses a key others may read or a group may write, a folder, and missing files', () => {
    for (const mode of [0o644, 0o604, 0o660]) {
      chmodSync(key, mode);
      assert.throws(
        () => readLocalTls(cert, key),
        refusal(new RegExp(`is open to others \\(mode ${mode.toString(8)}\\)`)),
      );
    }
    chmodSync(key, 0o600);
    assert.throws(() => readLocalTls(cert, folder), refusal(/must be a file owned by this user or root/));
    assert.throws(
      () => readLocalTls(cert, join(folder, 'missing.key')),
      refusal(/Cannot read the local TLS key/),
    );
    assert.throws(
      () => readLocalTls(join(folder, 'missing.crt'), key),
      refusal(/Cannot read the local TLS certificate/),
    );
  });
});
