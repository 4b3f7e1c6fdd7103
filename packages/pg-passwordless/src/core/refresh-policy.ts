import { PasswordlessError, printable } from './errors.ts';

/**
 * The token engine's time policy as pure functions, so each rule is unit-tested with plain numbers.
 */

/**
 * When tokens are refreshed: `ahead`, by a background timer at 75 % of the token's life (callers never
 * wait while the identity endpoint answers); `lazy`, by the first caller that finds the token in its
 * refresh window, with no timer at all, for platforms that freeze the CPU between requests (Cloud Run,
 * Azure Functions, Lambda), where a timer fires late or never and keeps nothing fresh.
 */
export type RefreshMode = 'ahead' | 'lazy';

/**
 * A refresh mode as a user wrote it (`tokenCache.refresh`, `PG_PASSWORDLESS_REFRESH`), checked.
 *
 * @example
 * console.log(checkRefreshMode(' Lazy ', 'PG_PASSWORDLESS_REFRESH')); // lazy
 * try {
 *   checkRefreshMode('eager', 'tokenCache.refresh');
 * } catch (error) {
 *   console.log((error as { code: string }).code); // CONFIG_INVALID
 * }
 */
export function checkRefreshMode(value: unknown, where: string): RefreshMode {
  const mode = typeof value === 'string' ? value.trim().toLowerCase() : value;
  if (mode === 'ahead' || mode === 'lazy') return mode;
  throw new PasswordlessError(
    'CONFIG_INVALID',
    `${where} is ${printable(String(value))}: not a refresh mode.`,
    {
      hint: 'Use ahead (the default: a timer refreshes before expiry) or lazy (no timer: serverless platforms).',
    },
  );
}

export interface RefreshPolicyOptions {
  /** A token is never handed out closer than this to its expiry (capped at a tenth of its lifetime). */
  safetyMarginMs: number;
  /** Refresh ahead once this fraction of the lifetime has passed. */
  refreshAtRatio: number;
  /** Shortest wait before asking again when a refresh returned the same token. */
  minRefreshIntervalMs: number;
}

export const defaultRefreshPolicy: RefreshPolicyOptions = {
  safetyMarginMs: 2 * 60_000,
  refreshAtRatio: 0.75,
  minRefreshIntervalMs: 5_000,
};

/** When a token was fetched and what the provider said about it. */
export interface TokenTimes {
  fetchedAtMs: number;
  expiresAtMs: number;
  refreshAtMs?: number;
}

/** The instants the cache acts on for one token. */
export interface TokenPlan {
  /** Last instant the token may be handed to a new connection. */
  handOutUntilMs: number;
  /** When to start a background refresh. Always before `handOutUntilMs`. */
  refreshAtMs: number;
}

/**
 * Plans one token's life. The margin is capped at a tenth of the lifetime so that short-lived
 * tokens (a 30 s emulator token) stay usable for most of their life.
 *
 * @example
 * console.log(planToken({ fetchedAtMs: 0, expiresAtMs: 3_600_000 }, defaultRefreshPolicy));
 * // { handOutUntilMs: 3480000, refreshAtMs: 2700000 }: used until 2 min before expiry, refreshed at 75 %
 */
export function planToken(times: TokenTimes, policy: RefreshPolicyOptions): TokenPlan {
  const lifetimeMs = Math.max(0, times.expiresAtMs - times.fetchedAtMs);
  const marginMs = Math.min(policy.safetyMarginMs, lifetimeMs * 0.1);
  const handOutUntilMs = times.expiresAtMs - marginMs;
  const byRatio = times.fetchedAtMs + lifetimeMs * policy.refreshAtRatio;
  const suggested = times.refreshAtMs ?? Number.POSITIVE_INFINITY;
  return { handOutUntilMs, refreshAtMs: Math.min(byRatio, suggested, handOutUntilMs) };
}

/**
 * Whether a token planned this way may be handed out at `nowMs`.
 *
 * @example
 * const plan = { handOutUntilMs: 100, refreshAtMs: 75 };
 * console.log(isUsable(plan, 99), isUsable(plan, 100)); // true false
 */
export function isUsable(plan: TokenPlan, nowMs: number): boolean {
  return nowMs < plan.handOutUntilMs;
}

/**
 * The next refresh attempt when a refresh gave back the token we already have. SDKs cache too
 * (MSAL returns its cached token until 5 minutes before expiry), so we ask again halfway to the end of
 * the usable window, and never more often than `minRefreshIntervalMs`.
 *
 * @example
 * const plan = { handOutUntilMs: 60_000, refreshAtMs: 40_000 };
 * console.log(nextAttemptAfterSameToken(plan, 40_000, defaultRefreshPolicy)); // 50000: halfway to 60000
 */
export function nextAttemptAfterSameToken(
  plan: TokenPlan,
  nowMs: number,
  policy: RefreshPolicyOptions,
): number {
  const halfway = nowMs + (plan.handOutUntilMs - nowMs) / 2;
  return Math.max(halfway, nowMs + policy.minRefreshIntervalMs);
}
