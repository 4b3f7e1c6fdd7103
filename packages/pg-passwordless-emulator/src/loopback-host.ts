import { isIP } from 'node:net';
import { EmulatorError } from './emulator-error.ts';

/**
 * Returns the host when it is a loopback address (127.0.0.0/8, ::1, localhost), and refuses any other
 * with CONFIG_INVALID: the emulator hands out tokens to whoever asks and signs certificates nobody else
 * trusts, so it must never be reachable from another machine.
 *
 * @example
 * console.log(loopbackHost('127.0.0.2'), loopbackHost('::1'), loopbackHost('localhost')); // 127.0.0.2 ::1 localhost
 * try {
 *   loopbackHost('0.0.0.0');
 * } catch (error) {
 *   console.log((error as { code: string }).code); // CONFIG_INVALID
 * }
 */
export function loopbackHost(host: string): string {
  if (isLoopback(host)) return host;
  throw new EmulatorError('CONFIG_INVALID', `The emulator listens on loopback only, not on "${host}".`, {
    hint: 'Use 127.0.0.1 (the default), another 127.x.y.z address, ::1 or localhost. To reach it from a container, run the emulator inside it.',
  });
}

function isLoopback(host: string): boolean {
  if (host.toLowerCase() === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  // Any spelling of ::1 (0:0:0:0:0:0:0:1, ::0001): the URL parser writes IPv6 addresses in one form.
  if (isIP(host) === 6) return new URL(`http://[${host}]/`).hostname === '[::1]';
  return false;
}
