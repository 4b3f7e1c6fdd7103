import type { Env } from '../../core/connection-url.ts';

/**
 * Where a command writes and what it reads: injected, so a test runs a command in-process with its own
 * streams and environment instead of patching `process`.
 */
export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
  env: Env;
}

/**
 * The process's own streams and environment.
 *
 * @example
 * const io = processIo();
 * io.stdout.write(`${Object.keys(io.env).length > 0}\n`); // true
 */
export function processIo(): Io {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env };
}
