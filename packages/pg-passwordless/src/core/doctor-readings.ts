import type { LoginContext, LoginDiagnosis } from './doctor-hooks.ts';

/**
 * How long, for people.
 *
 * @example
 * console.log(formatDuration(7_200_000), formatDuration(420_000), formatDuration(-40_000)); // 2 h 0 min 7 min 40 s
 */
export function formatDuration(ms: number): string {
  const seconds = Math.round(Math.abs(ms) / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/**
 * A server said the token expired: either it did (TOKEN_EXPIRED), or by this machine's clock it is still
 * valid, so the server's clock is ahead (CLOCK_SKEW). Shared by the doctor and the clouds' readings.
 *
 * @example
 * const context = { user: 'app', host: 'db', port: 5432, facts: {}, now: () => 0, token: { kind: 'jwt', summary: '', expiresAtMs: 600_000 } };
 * console.log(expiryDiagnosis('the server refused the login: token has expired', context).code); // CLOCK_SKEW
 */
export function expiryDiagnosis(said: string, context: LoginContext): LoginDiagnosis {
  const now = context.now();
  const expiresAtMs = context.token?.expiresAtMs;
  if (expiresAtMs !== undefined && expiresAtMs > now) {
    return {
      code: 'CLOCK_SKEW',
      detail: `${said}; by this machine's clock the token is valid for ${formatDuration(expiresAtMs - now)} more, so the server's clock is ahead of this machine's`,
      hint: 'Sync this machine’s clock (NTP: timedatectl set-ntp true, chronyd) and the identity endpoint’s; tokens are checked against the server’s clock.',
    };
  }
  return {
    code: 'TOKEN_EXPIRED',
    detail: `${said}${expiresAtMs !== undefined ? `; the token expired at ${new Date(expiresAtMs).toISOString()}` : ''}`,
    hint: 'Fetch a new token: a token is checked at login only, so a cached one must be refreshed before it expires (check the clock too).',
  };
}
