import { type Clock, sleep, systemClock } from './clock.ts';
import { classifyFailure } from './failure.ts';

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
 * A throttled (429) or unexplained endpoint failure whose SDK dropped `Retry-After` (MSAL keeps only the
 * status; the AWS chain keeps nothing) waits at least this long: the AWS container provider's own
 * retry delay, which we switch off, and the smallest `Retry-After` a server can send.
 */
export const UNKNOWN_RETRY_AFTER_MS = 1_000;

/**
 * Errors worth another try now, decided by the one failure classifier: network errors, 408, 429 and
 * 5xx however deeply the SDK wrapped them, and our own retryable errors. Not when the SDK already
 * retried on its own (gaxios: 3 times), which would multiply the requests to a failing endpoint.
 *
 * @example
 * isRetryable(Object.assign(new Error('reset'), { code: 'ECONNRESET' })); // true
 * isRetryable(Object.assign(new Error('forbidden'), { statusCode: 403 })); // false
 */
export function isRetryable(error: unknown): boolean {
  const failure = classifyFailure(error);
  return failure.retryable && !failure.sdkRetries;
}

/**
 * The least wait before trying again after `error`: the endpoint's `Retry-After` wherever the SDK kept
 * it, else {@link UNKNOWN_RETRY_AFTER_MS} when the endpoint throttled us or failed without saying how.
 *
 * @example
 * minimumRetryDelayMs(Object.assign(new Error('throttled'), { status: 429, headers: { 'retry-after': '3' } })); // 3000
 */
export function minimumRetryDelayMs(error: unknown, nowMs?: number): number | undefined {
  const failure = classifyFailure(error, { nowMs });
  if (failure.retryAfterMs !== undefined) return failure.retryAfterMs;
  return failure.reason === 'throttled' || failure.reason === 'endpoint' ? UNKNOWN_RETRY_AFTER_MS : undefined;
}

/**
 * Runs `operation` until it succeeds, fails with an error that is not retryable, or runs out of attempts.
 * The last error is rethrown unchanged.
 *
 * @example
 * let attempts = 0;
 * const answer = await withRetry(
 *   async () => {
 *     if (++attempts < 3) throw Object.assign(new Error('reset'), { code: 'ECONNRESET' });
 *     return 'ok';
 *   },
 *   { maxAttempts: 4, baseDelayMs: 10, maxDelayMs: 50 },
 * );
 * console.log(answer, attempts); // ok 3
 */
export async function withRetry<T>(
  operation: () => Promise<T>,
  options: RetryOptions,
  clock: Clock = systemClock,
  random: () => number = Math.random,
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
      const retryAfterMs = minimumRetryDelayMs(error, clock.now());
      const delayMs = backoffDelayMs(attempt, options, random, retryAfterMs);
      if (clock.now() + delayMs >= deadlineMs) throw error;
      onRetry?.(error, delayMs);
      await sleep(clock, delayMs, keepAlive);
    }
  }
}
