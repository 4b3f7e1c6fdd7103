import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { PasswordlessError, printable } from '../core/errors.ts';

/** Where the proxy listens: a TCP host and port, or a Unix socket in a folder (libpq's naming). */
export type ListenAddress =
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'unix'; folder: string; port: number; path: string };

export const DEFAULT_LISTEN = '127.0.0.1:5432';

/**
 * Parses `--listen`: `HOST:PORT`, `[IPv6]:PORT`, a bare `PORT` (on 127.0.0.1), or a folder (it starts
 * with "/") for a Unix socket named `.s.PGSQL.<port>` in it, so `psql -h <folder>` finds it.
 *
 * @example
 * console.log(parseListenAddress('127.0.0.1:6432')); // { kind: 'tcp', host: '127.0.0.1', port: 6432 }
 * console.log(parseListenAddress('[::1]:5432')); // { kind: 'tcp', host: '::1', port: 5432 }
 * console.log((parseListenAddress('/run/pg') as { path: string }).path); // /run/pg/.s.PGSQL.5432
 */
export function parseListenAddress(value: string, unixPort = 5432): ListenAddress {
  if (value.startsWith('/')) {
    return { kind: 'unix', folder: value, port: unixPort, path: join(value, `.s.PGSQL.${unixPort}`) };
  }
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d+)$/.exec(value) ?? /^()()(\d+)$/.exec(value);
  const port = Number(match?.[3]);
  const host = match?.[1] || match?.[2] || '127.0.0.1';
  if (!match || !Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new PasswordlessError(
      'CONFIG_INVALID',
      `--listen ${printable(value)} is not HOST:PORT, PORT or a folder.`,
      {
        hint: 'For example --listen 127.0.0.1:5432, --listen 6432 or --listen /tmp (a Unix socket).',
      },
    );
  }
  return { kind: 'tcp', host, port };
}

/**
 * Whether every address the host name stands for is a loopback one (127.0.0.0/8, ::1): only then may
 * the proxy serve without a local password, since whoever reaches it logs in as the workload.
 *
 * @example
 * console.log(await isLoopback('127.0.0.1'), await isLoopback('0.0.0.0')); // true false
 */
export async function isLoopback(host: string): Promise<boolean> {
  const addresses = isIP(host) ? [host] : (await lookup(host, { all: true })).map((entry) => entry.address);
  return addresses.length > 0 && addresses.every(isLoopbackAddress);
}

/**
 * Whether an IP address is a loopback one (127.0.0.0/8, ::1, or 127.x mapped into IPv6); an unknown
 * address (undefined) is not.
 *
 * @example
 * console.log(isLoopbackAddress('::ffff:127.0.0.1'), isLoopbackAddress('10.0.0.5')); // true false
 */
export function isLoopbackAddress(address: string | undefined): boolean {
  return address !== undefined && (address === '::1' || /^(::ffff:)?127\./.test(address));
}

/** How the address reads in a log line or a URL. */
export function describeListenAddress(address: ListenAddress): string {
  if (address.kind === 'unix') return address.path;
  return `${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
}
