import type { SecretToken } from './secret.ts';

/** One token as an identity provider returned it. */
export interface FetchedToken {
  token: SecretToken;
  /** When the server stops accepting it: min(token expiry, expiry of the credential that made it). */
  expiresAtMs: number;
  /** When the provider suggests getting a new one (Azure's `refreshAfterTimestamp`), if it says. */
  refreshAtMs?: number;
}

export interface FetchOptions {
  /**
   * The server rejected the last token: get one the identity endpoint newly issues, past the SDK's own
   * cache, where the SDK offers a way to. A source whose SDK offers none fetches as usual, and the
   * cache notices that the same token came back.
   */
  forceRefresh?: boolean;
}

/**
 * "Fetch a token once": the whole contract between an identity provider and the token cache.
 * The cache owns every policy (sharing, refresh ahead, retries); a source only fetches.
 *
 * @example
 * import { SecretToken, type TokenSource } from 'pg-passwordless';
 *
 * const source: TokenSource = {
 *   describe: () => 'static test token',
 *   fetchToken: async () => ({ token: new SecretToken('t'), expiresAtMs: Date.now() + 60_000 }),
 * };
 */
export interface TokenSource {
  fetchToken(options?: FetchOptions): Promise<FetchedToken>;
  /** Where tokens come from, for messages: never a secret. */
  describe(): string;
}
