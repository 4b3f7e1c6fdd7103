import type { SecretToken } from './secret.ts';

/** One token as an identity provider returned it. */
export interface FetchedToken {
  token: SecretToken;
  /** When the server stops accepting it: min(token expiry, expiry of the credential that made it). */
  expiresAtMs: number;
  /** When the provider suggests getting a new one (Azure's `refreshAfterTimestamp`), if it says. */
  refreshAtMs?: number;
}

/**
 * "Fetch a token once": the whole contract between an identity provider and the token cache.
 * The cache owns every policy (sharing, refresh ahead, retries); a source only fetches.
 *
 * @example
 * const source: TokenSource = {
 *   describe: () => 'static test token',
 *   fetchToken: async () => ({ token: new SecretToken('t'), expiresAtMs: Date.now() + 60_000 }),
 * };
 */
export interface TokenSource {
  fetchToken(): Promise<FetchedToken>;
  /** Where tokens come from, for messages: never a secret. */
  describe(): string;
}
