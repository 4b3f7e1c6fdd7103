/**
 * Stable error codes. Callers branch on `error.code`, never on message text.
 */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'URL_INVALID'
  | 'USER_MISSING'
  | 'PEER_MISSING'
  | 'CREDENTIAL_UNAVAILABLE'
  | 'TOKEN_ENDPOINT_FAILED'
  | 'TOKEN_REJECTED'
  | 'TLS_REQUIRED'
  | 'PLUGIN_INVALID'
  | 'PLUGIN_FAILED'
  | 'CLOSED';

export interface PasswordlessErrorOptions {
  /** What the user can do about it. */
  hint?: string;
  /** The underlying error, kept as `cause`. */
  cause?: unknown;
  /** Whether trying the same operation again may succeed (network errors, 429, 5xx). */
  retryable?: boolean;
  /** How long the server asked us to wait before trying again (`Retry-After`). */
  retryAfterMs?: number;
}

/**
 * The one error class of pg-passwordless. It has a stable `code`, a `hint`, and keeps the original
 * error as `cause`. Messages never contain a token.
 *
 * @example
 * import { PasswordlessError, parseBool } from 'pg-passwordless';
 *
 * try {
 *   parseBool({ PG_PASSWORDLESS_ENABLED: 'maybe' }, 'PG_PASSWORDLESS_ENABLED');
 * } catch (error) {
 *   if (error instanceof PasswordlessError && error.code === 'CONFIG_INVALID') console.log(error.hint);
 *   // Use true or false (1/0, yes/no and on/off are accepted too).
 * }
 */
export class PasswordlessError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;

  constructor(code: ErrorCode, message: string, options: PasswordlessErrorOptions = {}) {
    super(options.hint ? `${message}\nHint: ${options.hint}` : message, { cause: options.cause });
    this.name = 'PasswordlessError';
    this.code = code;
    this.hint = options.hint;
    this.retryable = options.retryable ?? false;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** Turns anything thrown into a short, token-free description for logs and warnings. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

/**
 * Quotes a value from the user's input for an error message, unless it is long enough to be a secret
 * pasted in the wrong place (a token in PGSSLMODE, say): then only its length is told.
 *
 * @example
 * console.log(printable('maybe')); // "maybe"
 * console.log(printable('eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.e30.c2ln')); // a 45-character value
 */
export function printable(value: string): string {
  return value.length <= 32 ? `"${value}"` : `a ${value.length}-character value`;
}
