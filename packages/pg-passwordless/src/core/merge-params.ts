import type { ConnectionParams, Plugin } from './contract.ts';

/** Whether a value has the shape of a plugin. */
export function isPlugin(value: unknown): value is Plugin {
  const candidate = value as Partial<Plugin> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.name === 'string' &&
    candidate.name !== '' &&
    typeof candidate.setDatabaseConnectionParams === 'function'
  );
}

/**
 * Merges one plugin's result into the params so far, the later plugin winning key by key. The
 * password and the token handle travel together: a plugin that returns a handle brings the password
 * that reads it, and one that returns only a password function drops the handle it no longer backs.
 */
export function mergeConnectionParams(into: ConnectionParams, result: ConnectionParams): void {
  const { token, password, ...driverOptions } = result;
  Object.assign(into, driverOptions);
  if (token) {
    // Not enumerable: spreading the params into a driver's options passes the password, not the handle.
    Object.defineProperty(into, 'token', {
      value: token,
      enumerable: false,
      configurable: true,
      writable: true,
    });
    into.password = password ?? (() => token.getToken());
  } else if (password !== undefined) {
    into.password = password;
    delete into.token;
  }
}
