import { type Clock, systemClock, type TimerHandle } from './clock.ts';
import { PasswordlessError } from './errors.ts';
import {
  defaultRefreshPolicy,
  isUsable,
  nextAttemptAfterSameToken,
  planToken,
  type RefreshPolicyOptions,
  type TokenPlan,
} from './refresh-policy.ts';
import { backoffDelayMs, defaultRetry, type RetryOptions, withRetry } from './retry.ts';
import type { SecretToken } from './secret.ts';
import type { TokenSource } from './token-source.ts';

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
  | { type: 'invalidated' };

export interface TokenCacheOptions {
  source: TokenSource;
  clock?: Clock;
  random?: () => number;
  policy?: Partial<RefreshPolicyOptions>;
  retry?: Partial<RetryOptions>;
}

/**
 * The token engine: hands out a cached token, shares one fetch among all concurrent callers, refreshes
 * ahead of expiry in the background, retries transient failures, and keeps serving a still-valid token
 * while the identity endpoint is down.
 *
 * @example
 * const cache = createTokenCache({ source });
 * const pool = new pg.Pool({ password: () => cache.getToken() });
 */
export interface TokenCache {
  /** The current token, fetching one first only when no usable token exists. */
  getToken(): Promise<string>;
  /** Drop the cached token, for when the server rejected it. The next caller fetches anew. */
  invalidate(): void;
  /** When the cached token expires, or undefined when none is cached. */
  expiresAtMs(): number | undefined;
  stats(): TokenCacheStats;
  /** Subscribe to events; returns the unsubscribe function. */
  on(listener: (event: TokenCacheEvent) => void): () => void;
  /** Cancels the refresh timer. Later `getToken()` calls reject with CLOSED. */
  close(): void;
}

interface CachedToken {
  secret: SecretToken;
  expiresAtMs: number;
  plan: TokenPlan;
}

/** Creates a token cache around one token source. See {@link TokenCache}. */
export function createTokenCache(options: TokenCacheOptions): TokenCache {
  return new TokenCacheImpl(options);
}

class TokenCacheImpl implements TokenCache {
  readonly #source: TokenSource;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #policy: RefreshPolicyOptions;
  readonly #retry: RetryOptions;
  readonly #listeners = new Set<(event: TokenCacheEvent) => void>();
  readonly #stats: TokenCacheStats = {
    fetches: 0,
    fetchFailures: 0,
    cacheHits: 0,
    waits: 0,
    waitMs: 0,
    refreshes: 0,
    sameTokenReturns: 0,
    invalidations: 0,
  };
  #current: CachedToken | undefined;
  #inFlight: Promise<CachedToken> | undefined;
  #refreshTimer: TimerHandle | undefined;
  /** Earliest time the next background refresh may start (pushed out after same-token answers and failures). */
  #nextBackgroundAttemptMs = 0;
  #backgroundFailures = 0;
  #closed = false;

  constructor(options: TokenCacheOptions) {
    this.#source = options.source;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#policy = { ...defaultRefreshPolicy, ...options.policy };
    this.#retry = { ...defaultRetry, ...options.retry };
  }

  async getToken(): Promise<string> {
    if (this.#closed) throw new PasswordlessError('CLOSED', 'The token cache was closed.');
    const now = this.#clock.now();
    const current = this.#current;
    if (current && isUsable(current.plan, now)) {
      this.#stats.cacheHits++;
      // The use-time check covers a refresh timer that never fired (a sleeping laptop, a frozen CPU).
      if (now >= current.plan.refreshAtMs && now >= this.#nextBackgroundAttemptMs)
        this.#refreshInBackground();
      return current.secret.reveal();
    }
    this.#stats.waits++;
    const startedMs = now;
    try {
      const fresh = await this.#fetchShared(false);
      return fresh.secret.reveal();
    } finally {
      this.#stats.waitMs += this.#clock.now() - startedMs;
    }
  }

  invalidate(): void {
    this.#stats.invalidations++;
    this.#current = undefined;
    this.#nextBackgroundAttemptMs = 0;
    this.#refreshTimer?.cancel();
    this.#emit({ type: 'invalidated' });
  }

  expiresAtMs(): number | undefined {
    return this.#current?.expiresAtMs;
  }

  stats(): TokenCacheStats {
    return { ...this.#stats };
  }

  on(listener: (event: TokenCacheEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  close(): void {
    this.#closed = true;
    this.#refreshTimer?.cancel();
    this.#listeners.clear();
  }

  /** Single flight: every caller during a fetch shares the same promise. */
  #fetchShared(background: boolean): Promise<CachedToken> {
    if (!this.#inFlight) {
      this.#inFlight = this.#fetchWithRetry(background).finally(() => {
        this.#inFlight = undefined;
      });
    }
    return this.#inFlight;
  }

  async #fetchWithRetry(background: boolean): Promise<CachedToken> {
    const fetchOnce = async () => {
      this.#stats.fetches++;
      try {
        return await this.#source.fetchToken();
      } catch (error) {
        this.#stats.fetchFailures++;
        throw error;
      }
    };
    let fetched: Awaited<ReturnType<TokenSource['fetchToken']>>;
    try {
      fetched = await withRetry(
        fetchOnce,
        this.#retry,
        this.#clock,
        this.#random,
        (error, delayMs) => this.#emit({ type: 'retry', error, delayMs }),
        // A background refresh must not keep a finished process alive; a waiting caller must.
        !background,
      );
    } catch (error) {
      if (!background) this.#emit({ type: 'error', error, background: false });
      throw this.#wrapFailure(error);
    }
    const now = this.#clock.now();
    const previous = this.#current;
    const times = { fetchedAtMs: now, expiresAtMs: fetched.expiresAtMs, refreshAtMs: fetched.refreshAtMs };
    const cached: CachedToken = {
      secret: fetched.token,
      expiresAtMs: fetched.expiresAtMs,
      plan: planToken(times, this.#policy),
    };
    if (!isUsable(cached.plan, now)) {
      throw new PasswordlessError(
        'TOKEN_ENDPOINT_FAILED',
        `${this.#source.describe()} returned a token that is already expired or about to expire.`,
        {
          hint: 'Check the clock of this machine and the token lifetime the identity endpoint issues.',
        },
      );
    }
    this.#backgroundFailures = 0;
    if (previous && fetched.token.equals(previous.secret) && isUsable(previous.plan, now)) {
      // The SDK answered from its own cache (the same string has the same expiry): keep our plan and
      // ask again later, when the SDK will have renewed it.
      this.#stats.sameTokenReturns++;
      this.#nextBackgroundAttemptMs = nextAttemptAfterSameToken(previous.plan, now, this.#policy);
      this.#scheduleRefresh(this.#nextBackgroundAttemptMs);
      this.#emit({ type: 'same-token', nextAttemptAtMs: this.#nextBackgroundAttemptMs });
      return previous;
    }
    if (background) this.#stats.refreshes++;
    this.#current = cached;
    this.#nextBackgroundAttemptMs = 0;
    this.#scheduleRefresh(cached.plan.refreshAtMs);
    this.#emit({ type: 'token', expiresAtMs: cached.expiresAtMs, background });
    return cached;
  }

  #refreshInBackground(): void {
    if (this.#inFlight || this.#closed) return;
    this.#fetchShared(true).catch((error: unknown) => {
      // A valid token still exists, so no caller fails: report, back off, and try again before it runs out.
      const current = this.#current;
      const now = this.#clock.now();
      const delayMs = backoffDelayMs(this.#backgroundFailures++, this.#retry, this.#random);
      const nextAttemptAtMs = now + Math.max(delayMs, this.#policy.minRefreshIntervalMs / 5);
      this.#nextBackgroundAttemptMs = nextAttemptAtMs;
      if (current && nextAttemptAtMs < current.plan.handOutUntilMs) this.#scheduleRefresh(nextAttemptAtMs);
      this.#emit({ type: 'error', error, background: true, nextAttemptAtMs });
    });
  }

  #scheduleRefresh(atMs: number): void {
    this.#refreshTimer?.cancel();
    if (this.#closed) return;
    const delayMs = Math.max(0, atMs - this.#clock.now());
    this.#refreshTimer = this.#clock.setTimer(() => this.#refreshInBackground(), delayMs, {
      keepAlive: false,
    });
  }

  #wrapFailure(error: unknown): PasswordlessError {
    if (error instanceof PasswordlessError) return error;
    return new PasswordlessError(
      'TOKEN_ENDPOINT_FAILED',
      `Could not get a token from ${this.#source.describe()}.`,
      {
        cause: error,
        hint: 'See the cause for the identity endpoint’s answer; the next connection attempt tries again.',
      },
    );
  }

  #emit(event: TokenCacheEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A faulty listener must not break token delivery.
      }
    }
  }
}
