import { describeError } from '../core/errors.ts';
import { defaultRefreshPolicy, planToken } from '../core/refresh-policy.ts';
import type { TokenHandle } from '../core/token-handle.ts';
import type { ProbeResult } from './http-endpoints.ts';

/** Whether a command (proxy, pool) has a token to log in with, for its readiness. */
export interface TokenHealth {
  /** The token function to log in with: the cache's own, each outcome noted. */
  getToken(): Promise<string>;
  /**
   * Ready while a usable token is held. Otherwise not ready, with the last failure as the reason, and a
   * fetch is started (one at a time, through the cache's single flight) so that the endpoint's recovery
   * shows at a later check without waiting for a client to connect.
   */
  check(): ProbeResult;
  /** Stops listening to the cache. */
  close(): void;
}

/** Longest failure text a reason keeps: a readiness body is one line. */
const MAX_FAILURE_CHARS = 400;

/**
 * Watches a token cache through its events: a token is usable until the instant the cache stops handing
 * it out (the core's plan: a safety margin before its expiry), and a fetch that failed with no usable
 * token left is the reason the command is not ready. Without the cache's handle (a plugin that returns
 * only a password function) the outcome of the last fetch is all there is to go on.
 *
 * @example
 * const { createTokenCache, SecretToken } = await import('pg-passwordless');
 * const cache = createTokenCache({
 *   source: { describe: () => 'a fixed token', fetchToken: async () => ({ token: new SecretToken('t'), expiresAtMs: Date.now() + 3_600_000 }) },
 * });
 * const health = createTokenHealth({ getToken: () => cache.getToken(), handle: cache });
 * console.log(health.check()); // { ok: false, reason: 'no token yet: fetching one' }
 * await health.getToken();
 * console.log(health.check()); // { ok: true }
 * health.close();
 * cache.close();
 */
export function createTokenHealth(options: {
  getToken: () => Promise<string>;
  handle?: TokenHandle | undefined;
  now?: () => number;
}): TokenHealth {
  const now = options.now ?? Date.now;
  const { handle } = options;
  let usableUntilMs: number | undefined;
  let lastFetchOk = false;
  let lastFailure: string | undefined;
  let checking: Promise<unknown> | undefined;
  const stopListening = handle?.on((event) => {
    if (event.type === 'token') {
      // The cache's own plan for the token, from the same instant it made it (events are synchronous).
      usableUntilMs = planToken(
        { fetchedAtMs: now(), expiresAtMs: event.expiresAtMs },
        defaultRefreshPolicy,
      ).handOutUntilMs;
      lastFailure = undefined;
    } else if (event.type === 'error' && !event.background) {
      lastFailure = failureLine(event.error);
    }
  });
  const getToken = async () => {
    try {
      const token = await options.getToken();
      lastFetchOk = true;
      return token;
    } catch (error) {
      lastFetchOk = false;
      lastFailure = failureLine(error);
      throw error;
    }
  };
  const held = () => {
    if (!handle) return lastFetchOk;
    const expiresAtMs = handle.expiresAtMs();
    return expiresAtMs !== undefined && now() < Math.min(expiresAtMs, usableUntilMs ?? expiresAtMs);
  };
  return {
    getToken,
    check: () => {
      if (held()) return { ok: true };
      if (!checking) {
        checking = getToken()
          .catch(() => undefined)
          .finally(() => {
            checking = undefined;
          });
      }
      return { ok: false, reason: lastFailure ? `no token: ${lastFailure}` : 'no token yet: fetching one' };
    },
    close: () => stopListening?.(),
  };
}

/** An error and its cause, each by its first line, without the hint: what a probe's reason shows. */
function failureLine(error: unknown): string {
  const first = (value: unknown) => describeError(value).split('\n', 1)[0] as string;
  const cause = error instanceof Error && error.cause !== undefined ? ` (${first(error.cause)})` : '';
  const line = `${first(error)}${cause}`;
  return line.length <= MAX_FAILURE_CHARS ? line : `${line.slice(0, MAX_FAILURE_CHARS)}…`;
}
