/**
 * Reads the claims of a JWT without verifying it: only to pick a role name. The server verifies the
 * token; nothing here trusts a claim for security.
 *
 * @example
 * readJwtClaims(token)?.upn // 'dev@contoso.onmicrosoft.com'
 */
export function readJwtClaims(token: string): Record<string, unknown> | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    return typeof claims === 'object' && claims !== null ? (claims as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
