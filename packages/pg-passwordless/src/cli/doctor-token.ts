import { userFromClaims } from '../plugins/azure/user.ts';
import { readJwtClaims } from '../plugins/jwt-claims.ts';

/** How far a token's start may lie ahead of this machine's clock before it is a clock problem (Entra allows 5 minutes). */
export const CLOCK_SKEW_TOLERANCE_MS = 5 * 60_000;

/**
 * What `pg-passwordless doctor` can tell about a token without showing it: its kind, where it may be
 * used, who it names and when it is valid. Nothing here is secret (no signature, no key id, no
 * session token), and nothing is trusted: the server verifies the token.
 */
export interface TokenFacts {
  kind: 'jwt' | 'rds-iam' | 'opaque';
  /** JWT (Microsoft Entra ID): audience, tenant, object id, token type, role name the claims suggest. */
  audience?: string;
  tenantId?: string;
  objectId?: string;
  tokenType?: string;
  suggestedRole?: string;
  /** RDS IAM: the endpoint, database user and region it was signed for. */
  signingHost?: string;
  signingPort?: number;
  dbUser?: string;
  region?: string;
  expiresInSeconds?: number;
  /** Epoch milliseconds. */
  issuedAtMs?: number;
  notBeforeMs?: number;
  expiresAtMs?: number;
  /** `TOKEN_EXPIRED` or `CLOCK_SKEW` when the token's times do not fit this machine's clock. */
  problem?: 'TOKEN_EXPIRED' | 'CLOCK_SKEW';
  /** One line for people, with no part of the token in it. */
  summary: string;
}

/**
 * Decodes a token for the doctor without revealing it: a JWT's claims (audience, tid, oid, the role
 * name they suggest, iat/nbf/exp), an RDS IAM token's presigned query (host:port, DBUser, region,
 * X-Amz-Date, X-Amz-Expires), or only the expiry the token cache knows for an opaque token (GCP).
 * Its times are compared with `now` to tell an expired token from a clock that is off.
 *
 * @example
 * const payload = Buffer.from(
 *   JSON.stringify({ aud: 'https://ossrdbms-aad.database.windows.net', tid: 't', oid: 'o', iat: 1_700_000_000, exp: 1_700_003_600 }),
 * ).toString('base64url');
 * const facts = inspectToken(`eyJhbGciOiJSUzI1NiJ9.${payload}.sig`, { now: () => 1_700_000_600_000 });
 * console.log(facts.audience, facts.expiresInSeconds, facts.problem); // https://ossrdbms-aad.database.windows.net 3000 undefined
 * console.log(inspectToken('ya29.opaque', { now: () => 0, expiresAtMs: 3_600_000 }).summary); // an opaque token; expires in 60 min
 */
export function inspectToken(
  token: string,
  options: { now?: () => number; expiresAtMs?: number } = {},
): TokenFacts {
  const now = (options.now ?? Date.now)();
  const rds = rdsFacts(token);
  if (rds) return withTimes(rds, now);
  const claims = token.split('.').length === 3 ? readJwtClaims(token) : undefined;
  if (claims) return withTimes(jwtFacts(claims), now);
  const summary = token.startsWith('ya29.') ? 'a Google OAuth2 access token (opaque)' : 'an opaque token';
  return withTimes({ kind: 'opaque', expiresAtMs: options.expiresAtMs, summary }, now);
}

function jwtFacts(claims: Record<string, unknown>): TokenFacts {
  const text = (name: string) => (typeof claims[name] === 'string' ? (claims[name] as string) : undefined);
  const seconds = (name: string) =>
    typeof claims[name] === 'number' ? (claims[name] as number) * 1000 : undefined;
  const audience = Array.isArray(claims.aud) ? claims.aud.join(' ') : text('aud');
  let suggestedRole: string | undefined;
  try {
    suggestedRole = userFromClaims(claims);
  } catch {
    suggestedRole = undefined; // a service principal's token does not carry its display name
  }
  const facts: TokenFacts = {
    kind: 'jwt',
    audience,
    tenantId: text('tid'),
    objectId: text('oid'),
    tokenType: text('idtyp'),
    suggestedRole,
    issuedAtMs: seconds('iat'),
    notBeforeMs: seconds('nbf'),
    expiresAtMs: seconds('exp'),
    summary: '',
  };
  facts.summary =
    `a JWT for audience ${audience ?? '(none)'}, tenant ${facts.tenantId ?? '(none)'}, object id ${facts.objectId ?? '(none)'}` +
    (suggestedRole ? `, role name by its claims "${suggestedRole}"` : ', no role name in its claims');
  return facts;
}

/** An RDS IAM token is a presigned URL without its scheme: `host:port/?Action=connect&DBUser=...`. */
function rdsFacts(token: string): TokenFacts | undefined {
  const split = token.indexOf('/?');
  if (split < 0 || !token.includes('X-Amz-')) return undefined;
  const hostPort = token.slice(0, split);
  const query = new URLSearchParams(token.slice(split + 2));
  if (query.get('Action') !== 'connect') return undefined;
  const portMatch = /^(.*):(\d+)$/.exec(hostPort);
  // X-Amz-Credential is <access key id>/<date>/<region>/rds-db/aws4_request: only the region is shown.
  const region = query.get('X-Amz-Credential')?.split('/')[2];
  const date = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(query.get('X-Amz-Date') ?? '');
  const [year, month, day, hour, minute, second] = (date?.slice(1) ?? []).map(Number);
  const issuedAtMs =
    date && year !== undefined && month !== undefined
      ? Date.UTC(year, month - 1, day, hour, minute, second)
      : undefined;
  const expires = Number(query.get('X-Amz-Expires'));
  const expiresInSeconds = Number.isFinite(expires) && expires > 0 ? expires : undefined;
  const facts: TokenFacts = {
    kind: 'rds-iam',
    signingHost: portMatch?.[1] ?? hostPort,
    signingPort: portMatch ? Number(portMatch[2]) : undefined,
    dbUser: query.get('DBUser') ?? undefined,
    region,
    issuedAtMs,
    // RDS honours a token for 15 minutes at most, whatever X-Amz-Expires says.
    expiresAtMs:
      issuedAtMs !== undefined ? issuedAtMs + Math.min(expiresInSeconds ?? 900, 900) * 1000 : undefined,
    summary: '',
  };
  facts.summary = `an RDS IAM token signed for ${hostPort}, DBUser ${facts.dbUser ?? '(none)'}, region ${region ?? '(none)'}, X-Amz-Expires ${expiresInSeconds ?? '(none)'}`;
  return { ...facts, expiresInSeconds };
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

/**
 * How far two clocks are apart, for people.
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
