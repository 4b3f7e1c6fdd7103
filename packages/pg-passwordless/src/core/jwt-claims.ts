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

/**
 * What any JWT says about itself, for the doctor: its audience and times (never its signature).
 * Undefined for anything that is not a JWT.
 *
 * @example
 * const payload = Buffer.from(JSON.stringify({ aud: 'api://db', exp: 1_700_003_600 })).toString('base64url');
 * console.log(readJwtFacts(`eyJhbGciOiJSUzI1NiJ9.${payload}.sig`)?.expiresAtMs); // 1700003600000
 */
export function readJwtFacts(token: string):
  | {
      kind: 'jwt';
      claims: Record<string, unknown>;
      audience?: string;
      issuedAtMs?: number;
      notBeforeMs?: number;
      expiresAtMs?: number;
    }
  | undefined {
  const claims = token.split('.').length === 3 ? readJwtClaims(token) : undefined;
  if (!claims) return undefined;
  const seconds = (name: string) =>
    typeof claims[name] === 'number' ? (claims[name] as number) * 1000 : undefined;
  const audience = Array.isArray(claims.aud)
    ? claims.aud.join(' ')
    : typeof claims.aud === 'string'
      ? claims.aud
      : undefined;
  return {
    kind: 'jwt',
    claims,
    audience,
    issuedAtMs: seconds('iat'),
    notBeforeMs: seconds('nbf'),
    expiresAtMs: seconds('exp'),
  };
}
