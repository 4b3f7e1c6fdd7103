import { createHash, timingSafeEqual } from 'node:crypto';
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { describeError, PasswordlessError } from '../core/errors.ts';

/**
 * Reads the proxy's local password from a file (its first line). The file must not be readable by
 * group or others, as libpq demands of a password file: the password opens a session as the workload.
 *
 * @example
 * const { mkdtempSync, writeFileSync } = await import('node:fs');
 * const { join } = await import('node:path');
 * const { tmpdir } = await import('node:os');
 * const file = join(mkdtempSync(join(tmpdir(), 'doc-')), 'proxy-password');
 * writeFileSync(file, 'local-secret\n', { mode: 0o600 });
 * console.log(readLocalPassword(file).length); // 12
 */
export function readLocalPassword(file: string): string {
  let mode: number;
  let text: string;
  try {
    // One open file for the check and the read: what was checked is what is read.
    const fd = openSync(file, 'r');
    try {
      mode = fstatSync(fd).mode;
      text = readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    throw new PasswordlessError(
      'CONFIG_INVALID',
      `Cannot read the local password file: ${describeError(error)}.`,
      {
        hint: 'Create it with: (umask 077; openssl rand -base64 32 > proxy-password)',
      },
    );
  }
  if ((mode & 0o077) !== 0) {
    throw new PasswordlessError(
      'CONFIG_INVALID',
      `The local password file ${file} can be read by others (mode ${(mode & 0o777).toString(8)}).`,
      { hint: `chmod 600 ${file}` },
    );
  }
  const password = text.split(/\r?\n/, 1)[0] ?? '';
  if (password.length < 8) {
    throw new PasswordlessError('CONFIG_INVALID', 'The local password file holds less than 8 characters.', {
      hint: 'Put a long random secret on its first line: openssl rand -base64 32',
    });
  }
  return password;
}

/**
 * Compares a password a client sent with the local password in constant time (both hashed first,
 * so neither the content nor the length leaks through timing).
 *
 * @example
 * console.log(localPasswordMatches('a-long-secret', 'a-long-secret'), localPasswordMatches('guess', 'a-long-secret')); // true false
 */
export function localPasswordMatches(sent: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(sent), digest(expected));
}
