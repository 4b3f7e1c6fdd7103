import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { createSecureContext } from 'node:tls';
import { createCertificates } from '../src/certificates.ts';

describe('emulator certificates', () => {
  it('makes a CA and a server certificate it signed, for localhost and the loopback addresses', () => {
    // Several rounds: serial numbers are random, and every one must encode as valid DER.
    for (let round = 0; round < 5; round++) {
      const set = createCertificates(['gateway.test']);
      const ca = new X509Certificate(set.caCertPem);
      const server = new X509Certificate(set.serverCertPem);
      assert.equal(ca.ca, true);
      assert.equal(server.ca, false);
      assert.ok(server.verify(ca.publicKey), 'signed by the CA');
      assert.equal(server.checkHost('localhost'), 'localhost');
      assert.equal(server.checkHost('gateway.test'), 'gateway.test');
      assert.equal(server.checkIP('127.0.0.1'), '127.0.0.1');
      assert.equal(server.checkIP('::1'), '::1');
      assert.equal(server.checkHost('example.com'), undefined);
      createSecureContext({ cert: set.serverCertPem, key: set.serverKeyPem });
    }
  });
});
