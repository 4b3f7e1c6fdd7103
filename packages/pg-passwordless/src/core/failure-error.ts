import { type ErrorCode, PasswordlessError } from './errors.ts';
import { type ClassifyOptions, classifyFailure, type Failure, type FailureReason } from './failure.ts';

/** A cloud's own words for what the user can do, per kind of failure. */
export interface FailureHints {
  /** No identity here (CREDENTIAL_UNAVAILABLE). */
  unavailable: string;
  /** The endpoint refused (400, 401, 403, 404): the identity exists but may not do this. */
  rejected: string;
  /** Network errors, 408, 429, 5xx: retried with backoff. */
  transient: string;
  /** A configuration error (CONFIG_INVALID); the unavailable hint when absent. */
  config?: string;
}

const CODES: Record<FailureReason, ErrorCode> = {
  network: 'TOKEN_ENDPOINT_FAILED',
  throttled: 'TOKEN_ENDPOINT_FAILED',
  server: 'TOKEN_ENDPOINT_FAILED',
  rejected: 'TOKEN_ENDPOINT_FAILED',
  endpoint: 'TOKEN_ENDPOINT_FAILED',
  unknown: 'TOKEN_ENDPOINT_FAILED',
  unavailable: 'CREDENTIAL_UNAVAILABLE',
  config: 'CONFIG_INVALID',
};

/**
 * Turns whatever an identity SDK threw into a PasswordlessError: the code, `retryable`, `retryAfterMs`
 * and the status in the message all come from {@link classifyFailure}; the words of the hint come from
 * the cloud. The SDK error is kept as `cause` (it holds no token: a failed fetch has none).
 *
 * @example
 * import { failureToError } from 'pg-passwordless';
 *
 * const error = failureToError(Object.assign(new Error('busy'), { statusCode: 503 }), 'Managed identity', {
 *   unavailable: 'Assign a managed identity.',
 *   rejected: 'Check the client id.',
 *   transient: 'Retried with backoff.',
 * });
 * // error.code === 'TOKEN_ENDPOINT_FAILED', error.retryable === true
 */
export function failureToError(
  error: unknown,
  where: string,
  hints: FailureHints,
  options?: ClassifyOptions,
): PasswordlessError {
  if (error instanceof PasswordlessError) return error;
  const failure = classifyFailure(error, options);
  return new PasswordlessError(CODES[failure.reason], `${where}: ${summary(failure, error)}`, {
    cause: error,
    retryable: failure.retryable,
    retryAfterMs: failure.retryAfterMs,
    hint: hintFor(failure, hints),
  });
}

function hintFor(failure: Failure, hints: FailureHints): string {
  if (failure.reason === 'unavailable') return hints.unavailable;
  if (failure.reason === 'config') return hints.config ?? hints.unavailable;
  if (failure.reason === 'rejected') return hints.rejected;
  if (failure.sdkRetries)
    return `${hints.transient} The SDK already retried ${failure.sdkRetries} times, so the next connection attempt tries again.`;
  return hints.transient;
}

function summary(failure: Failure, error: unknown): string {
  const wait = failure.retryAfterMs !== undefined ? ` (Retry-After ${failure.retryAfterMs} ms)` : '';
  switch (failure.reason) {
    case 'throttled':
    case 'server':
    case 'rejected':
      return `the identity endpoint answered ${failure.status}${wait}.`;
    case 'network':
      return `the identity endpoint could not be reached (${failure.networkCode}).`;
    case 'endpoint':
      return `the identity endpoint failed, and the SDK does not say how: ${firstLine(error)}`;
    default:
      return firstLine(error);
  }
}

/** The SDK's own message, first line only (aggregate errors list every credential below it). */
function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const line = message.split('\n')[0] ?? '';
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
