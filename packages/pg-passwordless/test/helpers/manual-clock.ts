import type { Clock, TimerHandle } from '../../src/core/clock.ts';

interface PendingTimer {
  atMs: number;
  delayMs: number;
  keepAlive: boolean;
  callback: () => void;
  cancelled: boolean;
}

/** A clock that moves only when a test says so. */
export class ManualClock implements Clock {
  #nowMs: number;
  readonly timers: PendingTimer[] = [];

  constructor(startMs = Date.UTC(2026, 10, 29)) {
    this.#nowMs = startMs;
  }

  now(): number {
    return this.#nowMs;
  }

  setTimer(callback: () => void, delayMs: number, options: { keepAlive?: boolean } = {}): TimerHandle {
    const timer = {
      atMs: this.#nowMs + delayMs,
      delayMs,
      keepAlive: options.keepAlive === true,
      callback,
      cancelled: false,
    };
    this.timers.push(timer);
    return { cancel: () => (timer.cancelled = true) };
  }

  /** Timers still waiting to fire. */
  pending(): PendingTimer[] {
    return this.timers.filter((timer) => !timer.cancelled && timer.atMs > Number.NEGATIVE_INFINITY);
  }

  /** Moves time forward, firing due timers in order and letting promises settle after each. */
  async advance(ms: number): Promise<void> {
    const target = this.#nowMs + ms;
    for (;;) {
      const due = this.pending()
        .filter((timer) => timer.atMs <= target)
        .sort((a, b) => a.atMs - b.atMs)[0];
      if (!due) break;
      this.#nowMs = Math.max(this.#nowMs, due.atMs);
      due.cancelled = true;
      due.callback();
      await settle();
    }
    this.#nowMs = target;
    await settle();
  }

  /** Moves time without firing any timer: a laptop that slept through its timers. */
  jump(ms: number): void {
    this.#nowMs += ms;
  }
}

/** Advances the clock a second at a time until `promise` settles (retries sleep on the clock). */
export async function driveUntilSettled<T>(
  clock: ManualClock,
  promise: Promise<T>,
  maxMs = 120_000,
): Promise<T> {
  let settled = false;
  const tracked = promise.finally(() => {
    settled = true;
  });
  tracked.catch(() => {});
  for (let elapsed = 0; !settled && elapsed < maxMs; elapsed += 1_000) await clock.advance(1_000);
  return tracked;
}

/** Lets queued promise callbacks run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}
