import type { TelemetryLabels } from './telemetry/telemetry.ts';

/** Counters a user can export to metrics. Never contains a token. */
export interface TokenCacheStats {
  /** Calls to the token source (each retry counts). */
  fetches: number;
  fetchFailures: number;
  /** Callers served from the cache without waiting. */
  cacheHits: number;
  /** Callers that waited because no usable token existed. */
  waits: number;
  /** Total time callers spent waiting. */
  waitMs: number;
  /** Background refreshes that produced a new token. */
  refreshes: number;
  /** Refreshes that got back the token already cached (the SDK's own cache answered). */
  sameTokenReturns: number;
  invalidations: number;
}

export type TokenCacheEvent =
  | { type: 'token'; expiresAtMs: number; background: boolean }
  | { type: 'same-token'; nextAttemptAtMs: number }
  | { type: 'retry'; error: unknown; delayMs: number }
  | { type: 'error'; error: unknown; background: boolean; nextAttemptAtMs?: number }
  | { type: 'invalidated'; renewed: boolean };

/**
 * The app's handle on the token cache behind a password function: one object, so that a later plugin
 * replaces it whole or not at all. It never exposes anything but the token itself through `getToken`.
 *
 * @example
 * import { createPool } from 'pg-passwordless/pg';
 *
 * const pool = await createPool(process.env.DATABASE_URL ?? '');
 * pool.token?.on((event) => console.log('token event', event.type));
 * console.log('token expires at', pool.token?.expiresAtMs(), pool.token?.stats());
 * await pool.end();
 */
export interface TokenHandle {
  /** The current token, fetched first only when no usable one is cached. */
  getToken(): Promise<string>;
  /**
   * The server rejected the current token: drop it and fetch a new one, past the identity SDK's own
   * cache where the SDK allows it. `renewed` is false when the SDK answered with the rejected token
   * again (MSAL caches managed-identity tokens process-wide), so a retry would be pointless.
   */
  invalidate(): Promise<{ renewed: boolean }>;
  /** When the cached token expires, or undefined when none is cached. */
  expiresAtMs(): number | undefined;
  /** Counters (fetches, cache hits, waits) for metrics. */
  stats(): TokenCacheStats;
  /** Subscribes to the cache's events (new token, retries, errors); returns the unsubscribe function. */
  on(listener: (event: TokenCacheEvent) => void): () => void;
  /** The `cloud` and `plugin` attributes of the cache's metrics and spans, when it has them. */
  readonly labels?: TelemetryLabels;
}
