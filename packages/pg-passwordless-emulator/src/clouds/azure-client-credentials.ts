import {
  createHash,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  timingSafeEqual,
  X509Certificate,
} from 'node:crypto';
import forge from 'node-forge';

/**
 * An application's certificate credential: the PEM a client reads (`AZURE_CLIENT_CERTIFICATE_PATH`: the
 * certificate and its private key in one file, as @azure/identity takes it), the public key Entra checks
 * assertions with, and the thumbprints an assertion's header names it by.
 */
export interface ClientCertificate {
  /** Certificate then private key, PEM. */
  pem: string;
  publicKey: KeyObject;
  /** Base64url thumbprints of the certificate's DER: `x5t#S256` (SHA-256) and `x5t` (SHA-1). */
  thumbprints: { sha256: string; sha1: string };
}

/** What an application proves itself with at the token endpoint: a client secret and a certificate. */
export interface ApplicationCredentials {
  secret: string;
  certificate: ClientCertificate;
}

/**
 * A fresh client secret (40 characters, as Entra's are) and a self-signed certificate for `name`, valid
 * for a year, as `az ad app credential reset --create-cert` makes one.
 *
 * @example
 * const credentials = createApplicationCredentials('orders-api');
 * console.log(credentials.secret.length, credentials.certificate.pem.includes('BEGIN PRIVATE KEY')); // 40 true
 * console.log(secretMatches(credentials, credentials.secret), secretMatches(credentials, 'guess')); // true false
 */
export function createApplicationCredentials(name: string): ApplicationCredentials {
  return { secret: randomBytes(30).toString('base64url'), certificate: selfSignedCertificate(name) };
}

/** Compares a presented secret in constant time. */
export function secretMatches(credentials: ApplicationCredentials, presented: string): boolean {
  const expected = Buffer.from(credentials.secret);
  const given = Buffer.from(presented);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

function selfSignedCertificate(name: string): ClientCertificate {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const forgeKey = forge.pki.privateKeyFromPem(keyPem);
  const certificate = forge.pki.createCertificate();
  certificate.publicKey = forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e);
  // DER integers must be positive and minimal: a first byte of 0x01 is both.
  certificate.serialNumber = `01${randomBytes(15).toString('hex')}`;
  certificate.validity.notBefore = new Date(Date.now() - 60 * 60_000);
  certificate.validity.notAfter = new Date(Date.now() + 365 * 24 * 60 * 60_000);
  const subject = [{ name: 'commonName', value: name }];
  certificate.setSubject(subject);
  certificate.setIssuer(subject);
  certificate.sign(forgeKey, forge.md.sha256.create());
  const certificatePem = forge.pki.certificateToPem(certificate);
  const x509 = new X509Certificate(certificatePem);
  const thumbprint = (algorithm: string) => createHash(algorithm).update(x509.raw).digest('base64url');
  return {
    pem: `${certificatePem}${keyPem}`,
    publicKey: x509.publicKey,
    thumbprints: { sha256: thumbprint('sha256'), sha1: thumbprint('sha1') },
  };
}
