import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Env } from '../core/connection-url.ts';
import { PasswordlessError } from '../core/errors.ts';

/** The installed PgBouncer: its path and the version it reports. */
export interface PgbouncerBinary {
  path: string;
  /** `1.18.0`, as `pgbouncer --version` prints it. */
  version: string;
}

/**
 * Finds PgBouncer on the PATH or where Debian and most packages put it (/usr/sbin, /usr/local/sbin),
 * and asks its version; PEER_MISSING when it is not installed.
 *
 * @example
 * try {
 *   console.log(/^\d+\.\d+/.test(findPgbouncer(process.env).version)); // true
 * } catch (error) {
 *   console.log((error as { code: string }).code); // PEER_MISSING: apt-get install pgbouncer
 * }
 */
export function findPgbouncer(env: Env): PgbouncerBinary {
  const folders = [...(env.PATH ?? '').split(':').filter(Boolean), '/usr/sbin', '/usr/local/sbin'];
  const path = folders.map((folder) => join(folder, 'pgbouncer')).find((file) => existsSync(file));
  if (!path) {
    throw new PasswordlessError(
      'PEER_MISSING',
      '`pg-passwordless pool` runs PgBouncer, which is not installed.',
      {
        hint: 'Install it: apt-get install pgbouncer (Debian, Ubuntu), apk add pgbouncer (Alpine), brew install pgbouncer.',
      },
    );
  }
  let output: string;
  try {
    output = execFileSync(path, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    throw new PasswordlessError('PEER_MISSING', `${path} does not run: ${(error as Error).message}.`, {
      hint: 'Reinstall PgBouncer (apt-get install --reinstall pgbouncer).',
      cause: error,
    });
  }
  return { path, version: /PgBouncer (\S+)/.exec(output)?.[1] ?? 'of an unknown version' };
}
