import { randomBytes } from 'node:crypto';

/** One access token the emulator issued, and whom it speaks for. */
export interface IssuedToken {
  /**
   * The service account the token is for; absent for a federated token (what STS hands out), which
   * speaks for an outside principal and logs in to no database.
   */
  serviceAccount?: string;
  /** Who holds it: the service account, or `principal://...` for a federated token. */
  principal: string;
  scopes: readonly string[];
  expiresAtMs: number;
}

/** The access tokens this emulator issued: opaque `ya29.` strings, remembered with what they are for. */
export interface TokenStore {
  issue(token: Omit<IssuedToken, 'expiresAtMs'>, lifetimeSeconds?: number): string;
  lookUp(token: string): IssuedToken | undefined;
}

/**
 * Google's access tokens are opaque to their holder (`ya29.` and random bytes); only the issuer can
 * tell what one is for, as the emulator does here.
 *
 * @example
 * const store = createTokenStore(Date.now, () => 3600);
 * const token = store.issue({ serviceAccount: 'a@p.iam.gserviceaccount.com', principal: 'a@p.iam.gserviceaccount.com', scopes: [] });
 * console.log(token.startsWith('ya29.'), store.lookUp(token)?.serviceAccount); // true a@p.iam.gserviceaccount.com
 */
export function createTokenStore(now: () => number, defaultLifetimeSeconds: () => number): TokenStore {
  const tokens = new Map<string, IssuedToken>();
  return {
    issue: (issued, lifetimeSeconds = defaultLifetimeSeconds()) => {
      const token = `ya29.${randomBytes(96).toString('base64url')}`;
      tokens.set(token, { ...issued, expiresAtMs: now() + lifetimeSeconds * 1000 });
      return token;
    },
    lookUp: (token) => tokens.get(token),
  };
}

/**
 * Whether a token is one this emulator issued, unexpired at `nowMs`, with one of the wanted scopes.
 *
 * @example
 * const issued = { principal: 'a', scopes: ['s'], expiresAtMs: 2_000 };
 * console.log(isUsable(issued, 1_000, ['s']), isUsable(issued, 2_000, ['s']), isUsable(issued, 1_000, ['t'])); // true false false
 */
export function isUsable(issued: IssuedToken | undefined, nowMs: number, scopes: readonly string[]): boolean {
  return (
    issued !== undefined &&
    nowMs < issued.expiresAtMs &&
    issued.scopes.some((scope) => scopes.includes(scope))
  );
}
