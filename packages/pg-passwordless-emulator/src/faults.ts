/**
 * Faults the identity endpoints can inject, set at start and changed while running: reliability tests
 * and benchmarks need an endpoint that is slow, throttles, fails or vanishes.
 */
export interface Faults {
  /** Added to every answer. */
  latencyMs?: number;
  /** Answer with this HTTP status instead of a token (429 comes with Retry-After). */
  status?: number;
  retryAfterSeconds?: number;
  /** Close the connection without answering. */
  drop?: boolean;
  /** Only the next N requests are affected; all of them when unset. */
  count?: number;
  /** Answer 503 to every request inside this window (epoch milliseconds). */
  outage?: { fromMs: number; untilMs: number };
}

export type FaultDecision =
  | { action: 'answer'; latencyMs: number }
  | { action: 'status'; latencyMs: number; status: number; retryAfterSeconds?: number }
  | { action: 'drop'; latencyMs: number };

/**
 * Holds the current faults and decides, request by request, what to do.
 *
 * @example
 * const faults = createFaultInjector();
 * faults.set({ status: 429, retryAfterSeconds: 2, count: 1 });
 * console.log(faults.decide()); // { action: 'status', latencyMs: 0, status: 429, retryAfterSeconds: 2 }
 * console.log(faults.decide(), faults.injected()); // { action: 'answer', latencyMs: 0 } 1
 */
export function createFaultInjector(now: () => number = Date.now) {
  let current: Faults = {};
  let injected = 0;
  return {
    set(faults: Faults): void {
      current = { ...faults };
    },
    clear(): void {
      current = {};
    },
    get(): Faults {
      return { ...current };
    },
    /** How many requests got a fault instead of a token. */
    injected: () => injected,
    decide(): FaultDecision {
      const latencyMs = current.latencyMs ?? 0;
      const { outage } = current;
      if (outage && now() >= outage.fromMs && now() < outage.untilMs) {
        injected++;
        return { action: 'status', latencyMs, status: 503 };
      }
      if ((current.status === undefined && !current.drop) || current.count === 0)
        return { action: 'answer', latencyMs };
      if (current.count !== undefined) current.count--;
      injected++;
      if (current.drop) return { action: 'drop', latencyMs };
      return {
        action: 'status',
        latencyMs,
        status: current.status as number,
        retryAfterSeconds: current.retryAfterSeconds,
      };
    },
  };
}

export type FaultInjector = ReturnType<typeof createFaultInjector>;
