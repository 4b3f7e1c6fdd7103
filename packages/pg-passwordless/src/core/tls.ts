import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { ConnectionTarget, Env } from './connection-url.ts';
import { PasswordlessError, printable } from './errors.ts';

export interface TlsSettings {
  /** PEM certificate(s) to trust instead of the system store. */
  ca?: string | Buffer;
  /** A file with PEM certificate(s) to trust (like libpq's sslrootcert). */
  caFile?: string;
  /**
   * Allows `sslmode` values that skip encryption or verification. Only for a loopback emulator: a token
   * is a bearer credential, and anyone who sees it can log in as you until it expires.
   */
  allowInsecure?: boolean;
}

/** TLS options for the driver: `false` means no TLS at all (only with `allowInsecure`). */
export type DriverTls = ConnectionOptions | false;

const VERIFIED_MODES = new Set(['verify-full', 'verify-ca']);
const KNOWN_MODES = new Set([
  'disable',
  'allow',
  'prefer',
  'require',
  'no-verify',
  'verify-ca',
  'verify-full',
]);

/**
 * Builds the TLS options for a token-carrying connection. Verification of the certificate and the host
 * name is the default (libpq's `verify-full`); weaker `sslmode`s are refused unless `allowInsecure`.
 * The CA comes from, in order: `ca`, `caFile`, the URL's `sslrootcert`, `PGSSLROOTCERT`, the cloud's
 * bundle (RDS), else the system store (which holds the roots Azure uses).
 *
 * @example
 * const target = { host: 'db.example.com', port: 5432, database: 'orders', user: 'app', params: {} };
 * console.log(buildTlsOptions(target, {}, {})); // { rejectUnauthorized: true }: verify-full, system roots
 * const insecure = { ...target, params: { sslmode: 'require' } };
 * console.log(buildTlsOptions(insecure, { allowInsecure: true }, {})); // { rejectUnauthorized: false }
 * try {
 *   buildTlsOptions(insecure, {}, {});
 * } catch (error) {
 *   console.log((error as { code?: string }).code); // TLS_REQUIRED: no token to an unverified server
 * }
 */
export function buildTlsOptions(
  target: ConnectionTarget,
  settings: TlsSettings,
  env: Env,
  readFile: (path: string) => Buffer = readFileSync,
  /** The cloud's own CA bundle (RDS), used when nothing else names a CA. */
  defaultCa?: string | string[],
): DriverTls {
  const mode = target.params.sslmode || env.PGSSLMODE || 'verify-full';
  if (!KNOWN_MODES.has(mode)) {
    throw new PasswordlessError('CONFIG_INVALID', `Unknown sslmode ${printable(mode)}.`, {
      hint: `Use one of: ${[...KNOWN_MODES].join(', ')}.`,
    });
  }
  if (!VERIFIED_MODES.has(mode) && !settings.allowInsecure) {
    throw new PasswordlessError(
      'TLS_REQUIRED',
      `sslmode=${mode} would send the token over a connection whose server is not verified.`,
      {
        hint: 'Use sslmode=verify-full (the default). For a local emulator on loopback only, set tls.allowInsecure: true.',
      },
    );
  }
  if (mode === 'disable') return false;
  if (!VERIFIED_MODES.has(mode)) return { rejectUnauthorized: false };

  const tls: ConnectionOptions = { rejectUnauthorized: true };
  const ca =
    settings.ca ??
    readCa(settings.caFile ?? target.params.sslrootcert ?? env.PGSSLROOTCERT, readFile) ??
    defaultCa;
  if (ca !== undefined) tls.ca = ca;
  // verify-ca checks the chain but not the name (Cloud SQL by IP address has no name to check).
  if (mode === 'verify-ca') tls.checkServerIdentity = () => undefined;
  return tls;
}

function readCa(path: string | undefined, readFile: (path: string) => Buffer): Buffer | undefined {
  if (!path || path === 'system') return undefined;
  try {
    return readFile(path);
  } catch (cause) {
    throw new PasswordlessError('CONFIG_INVALID', `Could not read the CA certificate file "${path}".`, {
      cause,
      hint: 'Check PGSSLROOTCERT / sslrootcert / tls.caFile, or remove it to use the system trust store.',
    });
  }
}
