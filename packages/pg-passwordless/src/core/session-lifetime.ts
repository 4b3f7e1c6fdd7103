/** Each pooled connection's lifetime is spread this much around the pool's lifetime (0.1 = ±10%). */
export const DEFAULT_LIFETIME_SPREAD = 0.1;

/**
 * A pool's connection lifetime kept under a server's session cap (a cloud's `sessionCapSeconds`): even
 * the longest of the spread lifetimes (1 + `spread` times it) ends a tenth of the cap before the server
 * would end the session, so the pool retires a connection between queries instead of the server cutting
 * it off mid-query. A lifetime that fits is kept; 0 (no lifetime) and anything longer become the longest
 * that fits. Without a cap the lifetime is unchanged.
 *
 * @example
 * console.log(lifetimeUnderCap(1800, 3600, 0.1)); // 1800: 30 minutes ±10% fit under an hour
 * console.log(lifetimeUnderCap(7200, 3600, 0.1)); // 2945: the longest that fits
 * console.log(lifetimeUnderCap(0, 3600, 0.1)); // 2945: the server ends sessions anyway
 * console.log(lifetimeUnderCap(7200, undefined, 0.1)); // 7200: no cap
 */
export function lifetimeUnderCap(
  maxLifetimeSeconds: number,
  capSeconds: number | undefined,
  spread: number,
): number {
  if (capSeconds === undefined) return maxLifetimeSeconds;
  const longest = Math.floor((capSeconds * 0.9) / (1 + spread));
  return maxLifetimeSeconds > 0 && maxLifetimeSeconds <= longest ? maxLifetimeSeconds : longest;
}
