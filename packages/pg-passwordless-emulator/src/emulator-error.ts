/**
 * The emulator's stable error codes: `CONFIG_INVALID` for options or flags it cannot take,
 * `EMULATOR_FAILED` for a part of the local cloud that could not start or stop (its backend, PgBouncer,
 * a detached process). Callers branch on `code`, never on the message.
 */
export type EmulatorErrorCode = 'CONFIG_INVALID' | 'EMULATOR_FAILED';

/**
 * The one error class of the emulator, its own so that it depends on nothing of the library it checks.
 * Shaped like the library's errors: a stable `code`, a `hint` (also on the message's last line, after
 * `Hint:`), and the original error kept as `cause`. Messages never carry a token or a password.
 *
 * @example
 * import { EmulatorError, startEmulator } from 'pg-passwordless-emulator';
 *
 * try {
 *   await startEmulator({ host: '0.0.0.0' });
 * } catch (error) {
 *   if (error instanceof EmulatorError) console.log(error.code, error.hint?.startsWith('Use 127.0.0.1'));
 *   // CONFIG_INVALID true
 * }
 */
export class EmulatorError extends Error {
  readonly code: EmulatorErrorCode;
  readonly hint: string | undefined;

  constructor(code: EmulatorErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(options.hint ? `${message}\nHint: ${options.hint}` : message, { cause: options.cause });
    this.name = 'EmulatorError';
    this.code = code;
    this.hint = options.hint;
  }
}
