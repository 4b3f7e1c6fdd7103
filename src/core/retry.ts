import { type Clock, sleep } from './clock.ts';
import { PasswordlessError } from './errors.ts';

export interface RetryOptions {
  /** Total attempts, the first included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const defaultRetry: RetryOptions = { maxAttempts: 4, baseDelayMs: 200, maxDelayMs: 10_000 };

/**
 * Exponential backoff with full jitter: a random delay in [0, min(max, base * 2^attempt)).
 * Full jitter spreads a fleet of restarting pods instead of letting them retry in lock step.
 * A server's `Retry-After` is a floor we honour.
 *
 * @example
 * backoffDelayMs(3, defaultRetry, Math.random) // somewhere in [0, 1600)
 * backoffDelayMs(0, defaultRetry, Math.random, 5_000) // at least 5000
 */
export function backoffDelayMs(
  attempt: number,
  options: RetryOptions,
  random: () => number,
  retryAfterMs?: number,
): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** attempt);
  const jittered = Math.floor(random() * ceiling);
  return retryAfterMs === undefined ? jittered : Math.max(jittered, retryAfterMs);
}

/**
 * Errors worth another try: our own retryable ones, and plain network errors from Node.
 *
 * @example
 * isRetryable(Object.assign(new Error('reset'), { code: 'ECONNRESET' })) // true
 */
export function isRetryable(error: unknown): boolean {
  if (error instanceof PasswordlessError) return error.retryable;
  const code = (error as { code?: unknown } | null)?.code;
  return (
    typeof code === 'string' &&
    ['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN'].includes(code)
  );
}

/**
 * Runs `operation` until it succeeds, fails with an error that is not retryable, or runs out of attempts.
 * The last error is rethrown unchanged.
 *
 * @example
 * const token = await withRetry(() => source.fetchToken(), defaultRetry, systemClock, Math.random);
 */
export async function withRetry<T>(
  operation: () => Promise<T>,
  options: RetryOptions,
  clock: Clock,
  random: () => number,
  onRetry?: (error: unknown, delayMs: number) => void,
  /** Whether the waits between attempts keep the process alive (yes when a caller is waiting). */
  keepAlive = true,
  /** No attempt starts after this time (a waiting caller's budget): the last error is thrown instead. */
  deadlineMs = Number.POSITIVE_INFINITY,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (attempt + 1 >= options.maxAttempts || !isRetryable(error)) throw error;
      const retryAfterMs = error instanceof PasswordlessError ? error.retryAfterMs : undefined;
      const delayMs = backoffDelayMs(attempt, options, random, retryAfterMs);
      if (clock.now() + delayMs >= deadlineMs) throw error;
      onRetry?.(error, delayMs);
      await sleep(clock, delayMs, keepAlive);
    }
  }
}
