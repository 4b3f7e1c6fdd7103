import type { TokenHandle } from './token-handle.ts';

/** Why a refused login is, or is not, tried again. */
export type RefusalReason =
  /** Another login renewed the token meanwhile: the cache now holds a different one. */
  | 'replaced'
  /** The token was invalidated and the identity SDK gave a new one. */
  | 'renewed'
  /** The SDK answered with the refused token again (MSAL's process-wide cache): retrying is pointless. */
  | 'same-token'
  /** A renewal ran less than the interval ago: the token is likely fine and the role or grant is not. */
  | 'too-soon'
  /** No new token could be fetched. */
  | 'failed';

export interface RefusalVerdict {
  /** Whether a second login, with the token the cache now holds, is worth it. */
  retry: boolean;
  reason: RefusalReason;
}

/** What happens when a server refuses a token login: one policy for the pool guard, the proxy and the doctor. */
export interface RefusedLoginPolicy {
  /**
   * A login was refused (SQLSTATE 28000 or 28P01). `refusedToken`, when the caller knows it, is the token
   * that login sent. Concurrent refusals share one renewal; a renewal starts at most once per interval.
   */
  afterRefusal(refusedToken?: string): Promise<RefusalVerdict>;
  /** Renewals that gave a new token. */
  renewals(): number;
}

/** SQLSTATEs of a refused login: invalid_authorization_specification, invalid_password. */
const LOGIN_REFUSED = new Set(['28000', '28P01']);

/**
 * Whether an error (or a server's SQLSTATE) is a refused login, which a new token may cure.
 *
 * @example
 * console.log(isRefusedLogin({ code: '28P01' }), isRefusedLogin({ code: '53300' })); // true false
 */
export function isRefusedLogin(error: unknown): boolean {
  return LOGIN_REFUSED.has((error as { code?: unknown } | null)?.code as string);
}

/**
 * The refused-login policy over a token cache. A token revoked or rotated early is replaced at once;
 * a role that is missing or not mapped costs one identity request per interval (30 s by default), not
 * one per login.
 *
 * @example
 * import { createRefusedLoginPolicy } from 'pg-passwordless';
 * import { createPool } from 'pg-passwordless/pg';
 *
 * const pool = await createPool(process.env.DATABASE_URL ?? '');
 * const policy = createRefusedLoginPolicy(pool.token as NonNullable<typeof pool.token>);
 * const verdict = await policy.afterRefusal(); // after the server said 28P01
 * console.log(verdict.retry, verdict.reason); // true renewed (or false same-token with a managed identity)
 * await pool.end();
 */
export function createRefusedLoginPolicy(
  token: Pick<TokenHandle, 'getToken' | 'invalidate'>,
  options: { intervalMs?: number; now?: () => number } = {},
): RefusedLoginPolicy {
  const intervalMs = options.intervalMs ?? 30_000;
  const now = options.now ?? Date.now;
  let lastRenewalMs = Number.NEGATIVE_INFINITY;
  let renewal: Promise<RefusalVerdict> | undefined;
  let renewals = 0;

  const renew = (): Promise<RefusalVerdict> =>
    token
      .invalidate()
      .then(
        ({ renewed }): RefusalVerdict =>
          renewed ? { retry: true, reason: 'renewed' } : { retry: false, reason: 'same-token' },
        (): RefusalVerdict => ({ retry: false, reason: 'failed' }),
      )
      .then((verdict) => {
        if (verdict.retry) renewals++;
        return verdict;
      })
      .finally(() => {
        renewal = undefined;
      });

  return {
    async afterRefusal(refusedToken) {
      const current =
        refusedToken === undefined ? undefined : await token.getToken().catch(() => refusedToken);
      // Checked after the wait: another refused login may have started the renewal meanwhile.
      if (renewal) return renewal;
      if (current !== undefined && current !== refusedToken) return { retry: true, reason: 'replaced' };
      if (now() - lastRenewalMs < intervalMs) return { retry: false, reason: 'too-soon' };
      lastRenewalMs = now();
      renewal = renew();
      return renewal;
    },
    renewals: () => renewals,
  };
}
