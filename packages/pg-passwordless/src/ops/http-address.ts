import { PasswordlessError, printable } from '../core/errors.ts';
import { parseListenAddress } from '../proxy/listen-address.ts';

/**
 * Parses `--http-address`: `HOST:PORT`, `[IPv6]:PORT`, or a bare `PORT` on 127.0.0.1, as `--listen`
 * reads TCP addresses (no Unix socket: the kubelet and Prometheus speak TCP).
 *
 * @example
 * console.log(parseHttpAddress('9801')); // { host: '127.0.0.1', port: 9801 }
 * console.log(parseHttpAddress('0.0.0.0:9801')); // { host: '0.0.0.0', port: 9801 }
 */
export function parseHttpAddress(value: string): { host: string; port: number } {
  const address = value.startsWith('/') ? undefined : tryParse(value);
  if (address) return address;
  throw new PasswordlessError(
    'CONFIG_INVALID',
    `--http-address ${printable(value)} is not HOST:PORT or PORT.`,
    {
      hint: 'For example --http-address 127.0.0.1:9801, or 0.0.0.0:9801 for Kubernetes probes (the kubelet probes the pod’s own address).',
    },
  );
}

function tryParse(value: string): { host: string; port: number } | undefined {
  try {
    const address = parseListenAddress(value);
    return address.kind === 'tcp' ? { host: address.host, port: address.port } : undefined;
  } catch {
    return undefined;
  }
}
