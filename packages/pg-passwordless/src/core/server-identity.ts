import { isIP } from 'node:net';
import { type ConnectionOptions, checkServerIdentity } from 'node:tls';

/** The `tls.connect` options that say which server the certificate must name. */
export type ServerIdentity = Pick<ConnectionOptions, 'servername' | 'checkServerIdentity'>;

/**
 * The `tls.connect` options that make Node check the server's certificate against `host`, whatever
 * else the caller passes. A name goes as SNI (`servername`), which Node also checks the certificate
 * against. An IP address may not be sent as SNI (RFC 6066, section 3), and Node then checks the
 * certificate against `options.host`, or against "localhost" when a driver passes no host (postgres.js,
 * and pg releases before the fix of node-postgres issue 2263, hand `tls.connect` only a socket): so for
 * an IP the check is bound to the address itself. Node's `checkServerIdentity` matches an IP only
 * against the certificate's IP Address entries (subjectAltName), never its DNS names or common name.
 *
 * Spread it before the driver's TLS options, so that a check those options set on purpose (verify-ca's,
 * which skips the name) still wins.
 *
 * @example
 * console.log(serverIdentityOptions('db.example.com')); // { servername: 'db.example.com' }
 * const { checkServerIdentity } = serverIdentityOptions('10.20.0.3');
 * const certificate = { subject: { CN: 'localhost' }, subjectaltname: 'DNS:localhost, IP Address:10.20.0.9' };
 * console.log(checkServerIdentity?.('localhost', certificate as never)?.message);
 * // Hostname/IP does not match certificate's altnames: IP: 10.20.0.3 is not in the cert's list: 10.20.0.9
 */
export function serverIdentityOptions(host: string): ServerIdentity {
  if (isIP(host) === 0) return { servername: host };
  return { checkServerIdentity: (_servername, certificate) => checkServerIdentity(host, certificate) };
}
