import { existsSync, readFileSync } from 'node:fs';
import { formatDuration } from '../../core/doctor-readings.ts';
import { readJwtFacts } from '../../core/jwt-claims.ts';

/** What the doctor can say of a token file without showing the token: whether it is there, and its claims. */
export type TokenFileReading =
  | { state: 'missing' }
  | { state: 'unreadable'; reason: string }
  | { state: 'read'; jwt: false }
  | {
      state: 'read';
      jwt: true;
      subject?: string;
      audience?: string;
      issuer?: string;
      expiresAtMs?: number;
      /** One line: who, for whom, from whom, until when. */
      summary: string;
    };

/**
 * Reads a service-account token file (IRSA's `AWS_WEB_IDENTITY_TOKEN_FILE`, EKS Pod Identity's
 * `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`) as the SDK will read it, for the claims a reader can check
 * against the role's trust policy: `sub`, `aud`, `iss`, `exp`. The token itself is never returned.
 *
 * @example
 * const claims = Buffer.from(JSON.stringify({ sub: 'system:serviceaccount:default:orders-api', aud: ['sts.amazonaws.com'], exp: 4_102_444_800 })).toString('base64url');
 * const reading = readTokenFile('/var/run/secrets/token', {
 *   fileExists: () => true,
 *   readFile: () => `eyJhbGciOiJSUzI1NiJ9.${claims}.signature`,
 *   now: () => Date.UTC(2100, 0, 1) - 3_600_000,
 * });
 * console.log(reading.state === 'read' && reading.jwt && reading.summary);
 * // a token for system:serviceaccount:default:orders-api, audience sts.amazonaws.com, expires in 1 h 0 min
 * console.log(readTokenFile('/nowhere', { fileExists: () => false }).state); // missing
 */
export function readTokenFile(
  path: string,
  context: {
    fileExists?: (path: string) => boolean;
    readFile?: (path: string) => string;
    now?: () => number;
  } = {},
): TokenFileReading {
  const exists = context.fileExists ?? existsSync;
  const read = context.readFile ?? ((file: string) => readFileSync(file, 'utf8'));
  if (!exists(path)) return { state: 'missing' };
  let token: string;
  try {
    token = read(path).trim();
  } catch (error) {
    return { state: 'unreadable', reason: (error as { code?: string }).code ?? (error as Error).message };
  }
  const facts = readJwtFacts(token);
  if (!facts) return { state: 'read', jwt: false };
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  const subject = text(facts.claims.sub);
  const issuer = text(facts.claims.iss);
  const { audience, expiresAtMs } = facts;
  const left = expiresAtMs !== undefined ? expiresAtMs - (context.now ?? Date.now)() : undefined;
  const parts = [
    `a token for ${subject ?? '(no sub)'}`,
    `audience ${audience ?? '(none)'}`,
    ...(issuer ? [`issuer ${issuer}`] : []),
    ...(left === undefined
      ? []
      : [left > 0 ? `expires in ${formatDuration(left)}` : `expired ${formatDuration(left)} ago`]),
  ];
  return { state: 'read', jwt: true, subject, audience, issuer, expiresAtMs, summary: parts.join(', ') };
}
