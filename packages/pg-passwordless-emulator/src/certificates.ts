import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import forge from 'node-forge';

export interface CertificateSet {
  caCertPem: string;
  serverCertPem: string;
  serverKeyPem: string;
}

/**
 * What the gateway's certificate names (its subjectAltName): `default` is localhost, 127.0.0.1, ::1 and
 * the extra names; `ip-only` keeps only the IP addresses among those, as the certificate of a server
 * reached by IP address has no DNS name to offer (so a client that checks an IP target against the
 * name "localhost" fails against it, as it would against that server); a list is exactly those names
 * and addresses (a certificate for another server, say).
 */
export type CertificateNames = 'default' | 'ip-only' | string[];

/** A CA made for one emulator run: its certificate, and the server certificates it signs. */
export interface CertificateAuthority {
  caCertPem: string;
  /** A server certificate for exactly these names and addresses (the first is its common name). */
  issueServerCertificate(names: string[]): { certPem: string; keyPem: string };
}

/**
 * A throwaway CA and a server certificate it signed, valid for `localhost`, `127.0.0.1` and `::1`
 * (and any extra names), made fresh at every emulator start. Clients verify the gateway against the CA
 * exactly as they verify Azure against DigiCert: full chain and host name. `names` narrows or replaces
 * what the certificate names; its common name is the first of them.
 *
 * @example
 * const { createSecureContext } = await import('node:tls');
 * const { X509Certificate } = await import('node:crypto');
 * const certs = createCertificates(['gateway.test']);
 * createSecureContext({ cert: certs.serverCertPem, key: certs.serverKeyPem }); // what the gateway serves
 * const server = new X509Certificate(certs.serverCertPem);
 * console.log(server.checkHost('gateway.test'), server.checkIP('127.0.0.1')); // gateway.test 127.0.0.1
 * console.log(server.verify(new X509Certificate(certs.caCertPem).publicKey)); // true: signed by the CA
 * const ipOnly = new X509Certificate(createCertificates([], 'ip-only').serverCertPem);
 * console.log(ipOnly.subjectAltName); // IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1
 */
export function createCertificates(
  extraNames: string[] = [],
  names: CertificateNames = 'default',
  authority: CertificateAuthority = createCertificateAuthority(),
): CertificateSet {
  const server = authority.issueServerCertificate(namesOf(extraNames, names));
  return { caCertPem: authority.caCertPem, serverCertPem: server.certPem, serverKeyPem: server.keyPem };
}

/**
 * A fresh CA that can sign more than the gateway's certificate: the identity endpoints served over
 * HTTPS get one of their own, for the names their clients dial, signed by the same CA (one ca.pem).
 *
 * @example
 * const { X509Certificate } = await import('node:crypto');
 * const authority = createCertificateAuthority();
 * const server = new X509Certificate(authority.issueServerCertificate(['oauth2.googleapis.com', '127.0.0.1']).certPem);
 * console.log(server.checkHost('oauth2.googleapis.com'), server.verify(new X509Certificate(authority.caCertPem).publicKey));
 * // oauth2.googleapis.com true
 */
export function createCertificateAuthority(): CertificateAuthority {
  const caKeys = rsaKeyPair();
  const caCert = forge.pki.createCertificate();
  caCert.publicKey = caKeys.publicKey;
  caCert.serialNumber = serialNumber();
  setValidity(caCert);
  const caSubject = [{ name: 'commonName', value: 'pg-passwordless emulator CA' }];
  caCert.setSubject(caSubject);
  caCert.setIssuer(caSubject);
  caCert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  caCert.sign(caKeys.privateKey, forge.md.sha256.create());
  return {
    caCertPem: forge.pki.certificateToPem(caCert),
    issueServerCertificate: (serverNames) => signServerCertificate(serverNames, caSubject, caKeys.privateKey),
  };
}

function signServerCertificate(
  serverNames: string[],
  caSubject: forge.pki.CertificateField[],
  caKey: forge.pki.rsa.PrivateKey,
): { certPem: string; keyPem: string } {
  if (serverNames.length === 0) throw new Error('a server certificate needs at least one name');
  const serverKeys = rsaKeyPair();
  const serverCert = forge.pki.createCertificate();
  serverCert.publicKey = serverKeys.publicKey;
  serverCert.serialNumber = serialNumber();
  setValidity(serverCert);
  // A common name that is not among the names would pass a client that falls back to it (libpq does,
  // for a certificate without DNS entries): so it is always one of them.
  serverCert.setSubject([{ name: 'commonName', value: serverNames[0] as string }]);
  serverCert.setIssuer(caSubject);
  const dnsNames = serverNames.filter((name) => isIP(name) === 0);
  const ipAddresses = serverNames.filter((name) => isIP(name) !== 0);
  serverCert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [
        ...dnsNames.map((value) => ({ type: 2, value })),
        ...ipAddresses.map((ip) => ({ type: 7, ip })),
      ],
    },
  ]);
  serverCert.sign(caKey, forge.md.sha256.create());
  return {
    certPem: forge.pki.certificateToPem(serverCert),
    keyPem: forge.pki.privateKeyToPem(serverKeys.privateKey),
  };
}

/** The emulator passes the host it listens on, so a client verifying the address it dialled succeeds. */
function namesOf(extraNames: string[], names: CertificateNames): string[] {
  if (Array.isArray(names)) return [...new Set(names)];
  const all = [...new Set(['localhost', '127.0.0.1', '::1', ...extraNames])];
  return names === 'ip-only' ? all.filter((name) => isIP(name) !== 0) : all;
}

/** Node's key generation is native and fast; forge's is pure JavaScript and slow. */
function rsaKeyPair() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const forgeKey = forge.pki.privateKeyFromPem(
    privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
  );
  return { privateKey: forgeKey, publicKey: forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e) };
}

function serialNumber(): string {
  // DER integers must be positive and minimal: a first byte of 0x01 is both, whatever follows.
  return `01${randomBytes(15).toString('hex')}`;
}

function setValidity(cert: forge.pki.Certificate): void {
  const now = Date.now();
  cert.validity.notBefore = new Date(now - 60 * 60_000);
  cert.validity.notAfter = new Date(now + 7 * 24 * 60 * 60_000);
}
