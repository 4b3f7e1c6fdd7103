import type { TokenFacts } from '../core/doctor-hooks.ts';
import { formatDuration } from '../core/doctor-readings.ts';
import { readJwtFacts } from '../core/jwt-claims.ts';

/** How far a token's start may lie ahead of this machine's clock before it is a clock problem (Entra allows 5 minutes). */
export const CLOCK_SKEW_TOLERANCE_MS = 5 * 60_000;

/**
 * Decodes a token for the doctor without revealing it: first as its cloud reads it (an RDS presigned
 * query, an Entra token's claims), else as any JWT (audience, iat/nbf/exp), else as an opaque token
 * whose expiry only the token cache knows. Its times are compared with `now` to tell an expired token
 * from a clock that is off.
 *
 * @example
 * const payload = Buffer.from(JSON.stringify({ aud: 'api://db', iat: 1_700_000_000, exp: 1_700_003_600 })).toString('base64url');
 * const facts = inspectToken(`eyJhbGciOiJSUzI1NiJ9.${payload}.sig`, { now: () => 1_700_000_600_000 });
 * console.log(facts.audience, facts.problem); // api://db undefined
 * console.log(inspectToken('opaque', { now: () => 0, expiresAtMs: 3_600_000 }).summary); // an opaque token; expires in 60 min (1970-01-01T01:00:00.000Z)
 */
export function inspectToken(
  token: string,
  options: {
    now?: () => number;
    expiresAtMs?: number;
    read?: (token: string) => TokenFacts | undefined;
  } = {},
): TokenFacts {
  const now = (options.now ?? Date.now)();
  const byCloud = options.read?.(token);
  const facts = byCloud ?? genericFacts(token);
  return withTimes({ ...facts, expiresAtMs: facts.expiresAtMs ?? options.expiresAtMs }, now);
}

function genericFacts(token: string): TokenFacts {
  const jwt = readJwtFacts(token);
  if (!jwt) return { kind: 'opaque', summary: 'an opaque token' };
  const { claims: _claims, ...facts } = jwt;
  return { ...facts, summary: `a JWT for audience ${facts.audience ?? '(none)'}` };
}

function withTimes(facts: TokenFacts, now: number): TokenFacts {
  const parts = [facts.summary];
  const start = Math.max(
    facts.notBeforeMs ?? Number.NEGATIVE_INFINITY,
    facts.issuedAtMs ?? Number.NEGATIVE_INFINITY,
  );
  if (facts.issuedAtMs !== undefined) parts.push(`issued ${new Date(facts.issuedAtMs).toISOString()}`);
  if (facts.expiresAtMs !== undefined) {
    const left = facts.expiresAtMs - now;
    parts.push(
      left > 0
        ? `expires in ${Math.round(left / 60_000)} min (${new Date(facts.expiresAtMs).toISOString()})`
        : `expired ${Math.round(-left / 60_000)} min ago (${new Date(facts.expiresAtMs).toISOString()})`,
    );
  }
  let problem: TokenFacts['problem'];
  if (start > now + CLOCK_SKEW_TOLERANCE_MS) {
    problem = 'CLOCK_SKEW';
    parts.push(
      `it was issued ${formatDuration(start - now)} after this machine's clock (${new Date(now).toISOString()})`,
    );
  } else if (facts.expiresAtMs !== undefined && facts.expiresAtMs <= now) {
    problem = 'TOKEN_EXPIRED';
  }
  return { ...facts, problem, summary: parts.join('; ') };
}
