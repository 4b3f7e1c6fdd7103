import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { createSecureContext, type SecureContext } from 'node:tls';
import { describeError, PasswordlessError } from '../core/errors.ts';

/**
 * The TLS the proxy offers its own clients, from a PEM certificate (chain) and its private key. The
 * key file must not be open to others, as PostgreSQL demands of ssl_key_file: mode 0600, or 0640 when
 * root owns it (a group such as ssl-cert may read it then). A key that does not match the certificate,
 * or a file that is not PEM, is refused here rather than at the first client's handshake.
 *
 * @example
 * const { mkdtempSync, writeFileSync } = await import('node:fs');
 * const { join } = await import('node:path');
 * const { tmpdir } = await import('node:os');
 * const folder = mkdtempSync(join(tmpdir(), 'doc-'));
 * writeFileSync(join(folder, 'proxy.key'), 'not a key', { mode: 0o644 });
 * try {
 *   readLocalTls(join(folder, 'proxy.crt'), join(folder, 'proxy.key'));
 * } catch (error) {
 *   console.log((error as { code: string }).code); // CONFIG_INVALID (the key is readable by others)
 * }
 */
export function readLocalTls(certFile: string, keyFile: string): SecureContext {
  const key = readKey(keyFile);
  const cert = readOrThrow(certFile, 'certificate');
  try {
    return createSecureContext({ cert, key, minVersion: 'TLSv1.2' });
  } catch (error) {
    throw new PasswordlessError(
      'CONFIG_INVALID',
      `The local TLS certificate and key cannot be used: ${describeError(error)}.`,
      {
        hint: 'Give --local-tls-cert a PEM certificate (its chain after it) and --local-tls-key the PEM private key of that certificate.',
        cause: error,
      },
    );
  }
}

/**
 * Reads the key through one open file, so that what is checked (a regular file of this user or root,
 * mode 0600, or 0640 for root's) is what is read.
 */
function readKey(keyFile: string): Buffer {
  let fd: number;
  try {
    fd = openSync(keyFile, 'r');
  } catch (error) {
    throw unreadable(keyFile, 'key', error);
  }
  try {
    const stats = fstatSync(fd);
    const ownedByRoot = stats.uid === 0;
    if (!stats.isFile() || !(ownedByRoot || stats.uid === process.getuid?.())) {
      throw new PasswordlessError(
        'CONFIG_INVALID',
        `The TLS key file ${keyFile} must be a file owned by this user or root.`,
        { hint: `chown $(id -u) ${keyFile}; chmod 600 ${keyFile}` },
      );
    }
    if ((stats.mode & (ownedByRoot ? 0o037 : 0o077)) !== 0) {
      throw new PasswordlessError(
        'CONFIG_INVALID',
        `The TLS key file ${keyFile} is open to others (mode ${(stats.mode & 0o777).toString(8)}).`,
        { hint: `chmod 600 ${keyFile}` },
      );
    }
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

function readOrThrow(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw unreadable(file, what, error);
  }
}

function unreadable(file: string, what: string, error: unknown): PasswordlessError {
  return new PasswordlessError(
    'CONFIG_INVALID',
    `Cannot read the local TLS ${what} ${file}: ${describeError(error)}.`,
    {
      hint: 'Pass the PEM files of a certificate for the name clients connect to, and its key (mode 0600).',
    },
  );
}
