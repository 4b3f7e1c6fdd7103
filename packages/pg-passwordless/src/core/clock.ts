/** A cancellable timer handle. */
export interface TimerHandle {
  cancel(): void;
}

/**
 * Time as the token engine sees it. Injected so tests drive time by hand instead of sleeping.
 */
export interface Clock {
  now(): number;
  /**
   * Runs `callback` after `delayMs`. `keepAlive: false` timers are `unref()`'d so that a background
   * refresh never keeps a process alive; a timer that someone is awaiting keeps it alive.
   */
  setTimer(callback: () => void, delayMs: number, options?: { keepAlive?: boolean }): TimerHandle;
}

/**
 * The real clock: `Date.now()` and Node timers.
 *
 * @example
 * import { systemClock } from 'pg-passwordless';
 *
 * // A background refresh in a minute: unref'd, so it never keeps the process alive on its own.
 * const refresh = systemClock.setTimer(() => console.log('refreshing'), 60_000, { keepAlive: false });
 * // A timer someone awaits keeps the process alive until it fires.
 * const startedMs = systemClock.now();
 * await new Promise<void>((resolve) => systemClock.setTimer(resolve, 20, { keepAlive: true }));
 * console.log(systemClock.now() - startedMs < 60_000); // true
 * refresh.cancel();
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(callback, delayMs, options = {}) {
    const timer = setTimeout(callback, Math.max(0, delayMs));
    if (options.keepAlive !== true) timer.unref();
    return { cancel: () => clearTimeout(timer) };
  },
};

/**
 * Resolves after `delayMs` on the given clock. By default it keeps the process alive, since a caller is
 * waiting; background work passes `keepAlive: false`.
 */
export function sleep(clock: Clock, delayMs: number, keepAlive = true): Promise<void> {
  return new Promise((resolve) => {
    clock.setTimer(resolve, delayMs, { keepAlive });
  });
}
