import { type Clock, systemClock, type TimerHandle } from './clock.ts';
import { PasswordlessError } from './errors.ts';
import {
  checkRefreshMode,
  defaultRefreshPolicy,
  isUsable,
  nextAttemptAfterSameToken,
  planToken,
  type RefreshMode,
  type RefreshPolicyOptions,
  type TokenPlan,
} from './refresh-policy.ts';
import { backoffDelayMs, defaultRetry, type RetryOptions, withRetry } from './retry.ts';
import type { SecretToken } from './secret.ts';
import {
  sharedTelemetry,
  type Telemetry,
  type TelemetryLabels,
  type TokenCacheTelemetry,
} from './telemetry/telemetry.ts';
import type { TokenCacheEvent, TokenCacheStats, TokenHandle } from './token-handle.ts';
import type { FetchedToken, FetchOptions, TokenSource } from './token-source.ts';

export type { TokenCacheEvent, TokenCacheStats } from './token-handle.ts';

/** A caller with no usable token waits at most this long, retries included (see `timeoutMs`). */
export const DEFAULT_TOKEN_TIMEOUT_MS = 10_000;

export interface TokenCacheOptions {
  source: TokenSource;
  clock?: Clock;
  random?: () => number;
  policy?: Partial<RefreshPolicyOptions>;
  retry?: Partial<RetryOptions>;
  /** How long a caller with no usable token waits, retries included, before it gets the error. */
  timeoutMs?: number;
  /**
   * `ahead` (default): a timer refreshes the token at 75 % of its life. `lazy`: no timer at all; the
   * caller that finds the token in its refresh window starts the refresh (serverless platforms that
   * freeze the CPU between requests).
   */
  refresh?: RefreshMode;
  /** The `cloud` and `plugin` attributes of its metrics and spans (the core names the cloud's). */
  labels?: TelemetryLabels;
  /** Where it records; the process's {@link sharedTelemetry} by default. */
  telemetry?: Telemetry;
}

/** The attributes of a cache made without labels (by hand, with `createTokenCache`). */
const UNLABELLED: TelemetryLabels = { cloud: 'unknown', plugin: 'unknown' };

/**
 * Why a fetch runs: a caller with no usable token, a caller that found the token in its refresh window
 * (it goes on with the current one), or the refresh timer (no caller: its span starts a trace of its own).
 */
type FetchTrigger = 'caller' | 'use-time' | 'timer';

/**
 * The token engine: hands out a cached token, shares one fetch among all concurrent callers, refreshes
 * ahead of expiry in the background, retries transient failures, and keeps serving a still-valid token
 * while the identity endpoint is down. It is the {@link TokenHandle} apps see, plus `close()`.
 *
 * @example
 * import { createTokenCache, SecretToken } from 'pg-passwordless';
 *
 * const cache = createTokenCache({
 *   source: {
 *     describe: () => 'a fixed token',
 *     fetchToken: async () => ({ token: new SecretToken('t0k3n'), expiresAtMs: Date.now() + 3_600_000 }),
 *   },
 * });
 * console.log((await cache.getToken()).length, cache.stats().fetches); // 5 1
 * cache.close();
 */
export interface TokenCache extends TokenHandle {
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

/**
 * The app-facing view of a cache: everything but `close()`, since caches are shared between pools.
 *
 * @example
 * import { createTokenCache, SecretToken, tokenHandle } from 'pg-passwordless';
 *
 * const cache = createTokenCache({
 *   source: { describe: () => 'fixed', fetchToken: async () => ({ token: new SecretToken('t'), expiresAtMs: Date.now() + 3_600_000 }) },
 * });
 * const handle = tokenHandle(cache);
 * console.log('close' in handle); // false
 * cache.close();
 */
export function tokenHandle(cache: TokenHandle): TokenHandle {
  return {
    getToken: () => cache.getToken(),
    invalidate: () => cache.invalidate(),
    expiresAtMs: () => cache.expiresAtMs(),
    stats: () => cache.stats(),
    on: (listener) => cache.on(listener),
    ...(cache.labels ? { labels: cache.labels } : {}),
  };
}

class TokenCacheImpl implements TokenCache {
  readonly #source: TokenSource;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #policy: RefreshPolicyOptions;
  readonly #retry: RetryOptions;
  readonly #timeoutMs: number;
  readonly #refresh: RefreshMode;
  readonly #telemetry: TokenCacheTelemetry;
  readonly labels: TelemetryLabels;
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
  #invalidation: Promise<{ renewed: boolean }> | undefined;
  /** Bumped by each invalidation, so that a fetch started before it cannot store its (maybe rejected) token. */
  #generation = 0;

  constructor(options: TokenCacheOptions) {
    this.#source = options.source;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#policy = { ...defaultRefreshPolicy, ...options.policy };
    this.#retry = { ...defaultRetry, ...options.retry };
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TOKEN_TIMEOUT_MS;
    this.#refresh = checkRefreshMode(options.refresh ?? 'ahead', 'tokenCache.refresh');
    this.labels = { ...(options.labels ?? UNLABELLED) };
    this.#telemetry = (options.telemetry ?? sharedTelemetry).tokenCache(this.labels, {
      now: () => this.#clock.now(),
      expiresAtMs: () => this.expiresAtMs(),
    });
  }

  async getToken(): Promise<string> {
    if (this.#closed) throw new PasswordlessError('CLOSED', 'The token cache was closed.');
    const now = this.#clock.now();
    const current = this.#current;
    if (current && isUsable(current.plan, now)) {
      this.#stats.cacheHits++;
      this.#telemetry.hit();
      // The use-time check covers a refresh timer that never fired (a sleeping laptop, a frozen CPU),
      // and is the only refresh there is when the refresh is lazy.
      if (now >= current.plan.refreshAtMs && now >= this.#nextBackgroundAttemptMs)
        this.#refreshInBackground('use-time');
      return current.secret.reveal();
    }
    this.#stats.waits++;
    this.#telemetry.wait();
    try {
      return (await this.#waitForFetch(this.#fetchShared('caller'))).secret.reveal();
    } finally {
      this.#stats.waitMs += this.#clock.now() - now;
    }
  }

  invalidate(): Promise<{ renewed: boolean }> {
    // Many connections refused at once share one invalidation (and one new fetch).
    if (!this.#invalidation) {
      this.#invalidation = this.#invalidateOnce().finally(() => {
        this.#invalidation = undefined;
      });
    }
    return this.#invalidation;
  }

  async #invalidateOnce(): Promise<{ renewed: boolean }> {
    this.#stats.invalidations++;
    const rejected = this.#current?.secret;
    this.#current = undefined;
    this.#generation++;
    this.#nextBackgroundAttemptMs = 0;
    this.#refreshTimer?.cancel();
    // Join a fetch already running only when no token was cached (it cannot return the rejected one).
    const fetch =
      this.#inFlight && !rejected
        ? this.#inFlight
        : this.#fetchShared('caller', { forceRefresh: true }, true);
    const fresh = await this.#waitForFetch(fetch);
    const renewed = !rejected || !fresh.secret.equals(rejected);
    this.#emit({ type: 'invalidated', renewed });
    return { renewed };
  }

  /** Waits for a fetch within the caller's budget; the fetch itself goes on for later callers. */
  async #waitForFetch(fetch: Promise<CachedToken>): Promise<CachedToken> {
    let timer: TimerHandle | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = this.#clock.setTimer(
        () =>
          reject(
            new PasswordlessError(
              'TOKEN_ENDPOINT_FAILED',
              `No token from ${this.#source.describe()} within ${this.#timeoutMs} ms.`,
              {
                retryable: true,
                hint: 'The identity endpoint is slow or failing; the next connection attempt tries again. Raise tokenCache.timeoutMs to wait longer.',
              },
            ),
          ),
        this.#timeoutMs,
        { keepAlive: false },
      );
    });
    try {
      return await Promise.race([fetch, timeout]);
    } finally {
      timer?.cancel();
    }
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
    this.#telemetry.close();
  }

  /**
   * Single flight: every caller during a fetch shares the same promise. `replace` starts a new fetch
   * even while one runs (after a rejection, the running one may bring back the rejected token).
   */
  #fetchShared(trigger: FetchTrigger, options: FetchOptions = {}, replace = false): Promise<CachedToken> {
    if (!this.#inFlight || replace) {
      const fetch: Promise<CachedToken> = this.#fetchWithRetry(trigger, options).finally(() => {
        if (this.#inFlight === fetch) this.#inFlight = undefined;
      });
      this.#inFlight = fetch;
    }
    return this.#inFlight;
  }

  async #fetchWithRetry(trigger: FetchTrigger, options: FetchOptions): Promise<CachedToken> {
    const generation = this.#generation;
    const fetched = await this.#fetchFromSource(trigger, options);
    return this.#keep(fetched, trigger !== 'caller', generation);
  }

  /** Asks the source, with the retry policy, within the caller's budget (a background refresh has none). */
  async #fetchFromSource(trigger: FetchTrigger, options: FetchOptions): Promise<FetchedToken> {
    const background = trigger !== 'caller';
    const deadlineMs = background ? Number.POSITIVE_INFINITY : this.#clock.now() + this.#timeoutMs;
    // A lazy refresh tries once: its retries would sleep on timers, and lazy sets none. A later caller
    // tries again after the back-off (see #refreshInBackground).
    const retry = background && this.#refresh === 'lazy' ? { ...this.#retry, maxAttempts: 1 } : this.#retry;
    let attempt = 0;
    const fetchOnce = async () => {
      this.#stats.fetches++;
      try {
        return await this.#telemetry.fetch(++attempt, trigger === 'timer', () =>
          this.#source.fetchToken(options),
        );
      } catch (error) {
        this.#stats.fetchFailures++;
        throw error;
      }
    };
    try {
      return await withRetry(
        fetchOnce,
        retry,
        this.#clock,
        this.#random,
        (error, delayMs) => this.#emit({ type: 'retry', error, delayMs }),
        // A background refresh must not keep a finished process alive; a waiting caller must.
        !background,
        deadlineMs,
      );
    } catch (error) {
      if (!background) this.#emit({ type: 'error', error, background: false });
      throw this.#wrapFailure(error);
    }
  }

  /** Plans a fetched token's life and keeps it, unless the SDK only handed back the one already cached. */
  #keep(fetched: FetchedToken, background: boolean, generation: number): CachedToken {
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
    // Started before an invalidation: its token may be the rejected one, so the newer fetch decides.
    if (generation !== this.#generation) return cached;
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

  #refreshInBackground(trigger: 'use-time' | 'timer'): void {
    if (this.#inFlight || this.#closed) return;
    this.#fetchShared(trigger).catch((error: unknown) => {
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
    // Lazy: no timer at all; the next caller past `atMs` starts the refresh (see getToken).
    if (this.#closed || this.#refresh === 'lazy') return;
    const delayMs = Math.max(0, atMs - this.#clock.now());
    this.#refreshTimer = this.#clock.setTimer(() => this.#refreshInBackground('timer'), delayMs, {
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
