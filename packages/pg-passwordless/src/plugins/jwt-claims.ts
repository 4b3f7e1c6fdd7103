/**
 * Reads the claims of a JWT without verifying it: only to pick a role name. The server verifies the
 * token; nothing here trusts a claim for security.
 *
 * @example
 * const payload = Buffer.from(JSON.stringify({ upn: 'dev@contoso.onmicrosoft.com' })).toString('base64url');
 * console.log(readJwtClaims(`eyJhbGciOiJSUzI1NiJ9.${payload}.sig`)?.upn); // dev@contoso.onmicrosoft.com
 * console.log(readJwtClaims('not a token')); // undefined
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
