import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** What a verified RDS IAM token says. */
export interface RdsTokenClaims {
  accessKeyId: string;
  sessionToken: string | undefined;
  dbUser: string;
  hostPort: string;
  region: string;
  signedAtMs: number;
  expiresAtMs: number;
}

const EMPTY_BODY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** RFC 3986 encoding, as SigV4 canonical queries need it (encodeURIComponent leaves !'()* alone). */
function rfc3986(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/**
 * Parses an RDS IAM token (`host:port/?Action=connect&DBUser=…&X-Amz-…`) without checking it.
 *
 * @example
 * console.log(parseRdsToken('db:5432/?Action=connect&DBUser=app')?.hostPort); // db:5432
 * console.log(parseRdsToken('not a token')); // undefined
 */
export function parseRdsToken(token: string): { hostPort: string; params: Map<string, string> } | undefined {
  const split = token.indexOf('/?');
  if (split <= 0) return undefined;
  const params = new Map<string, string>();
  for (const pair of token.slice(split + 2).split('&')) {
    const [key, value = ''] = pair.split('=');
    if (!key) return undefined;
    try {
      params.set(decodeURIComponent(key), decodeURIComponent(value));
    } catch {
      return undefined;
    }
  }
  return { hostPort: token.slice(0, split), params };
}

/**
 * Verifies an RDS IAM token the way the server side does: rebuilds the SigV4 canonical request for
 * `GET https://host:port/?Action=connect&DBUser=…` (service `rds-db`, signed header `host`), derives the
 * signing key from the secret key, and compares signatures in constant time. Returns the claims when the
 * signature holds; time, user and endpoint checks are the caller's.
 *
 * @example
 * const { Signer } = await import('@aws-sdk/rds-signer');
 * const credentials = { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'example-secret' };
 * const token = await new Signer({
 *   hostname: 'db.example.com',
 *   port: 5432,
 *   username: 'app_user',
 *   region: 'eu-west-1',
 *   credentials,
 * }).getAuthToken();
 * const claims = verifyRdsToken(token, (keyId) => (keyId === 'AKIAEXAMPLE' ? 'example-secret' : undefined));
 * console.log(claims?.dbUser, claims?.hostPort, claims?.region); // app_user db.example.com:5432 eu-west-1
 * console.log(claims && claims.expiresAtMs - claims.signedAtMs); // 900000: 15 minutes
 * console.log(verifyRdsToken(token, () => 'another-secret')); // undefined
 */
export function verifyRdsToken(
  token: string,
  secretFor: (accessKeyId: string) => string | undefined,
): RdsTokenClaims | undefined {
  const parsed = parseRdsToken(token);
  if (!parsed) return undefined;
  const { hostPort, params } = parsed;
  const credential = params.get('X-Amz-Credential')?.split('/');
  const amzDate = params.get('X-Amz-Date') ?? '';
  const signature = params.get('X-Amz-Signature') ?? '';
  if (
    params.get('Action') !== 'connect' ||
    params.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256' ||
    params.get('X-Amz-SignedHeaders') !== 'host' ||
    credential?.length !== 5 ||
    credential[3] !== 'rds-db' ||
    credential[4] !== 'aws4_request' ||
    !/^\d{8}T\d{6}Z$/.test(amzDate) ||
    !/^[0-9a-f]{64}$/.test(signature)
  ) {
    return undefined;
  }
  const [accessKeyId, date, region] = credential as [string, string, string];
  const secret = secretFor(accessKeyId);
  if (!secret || !amzDate.startsWith(date)) return undefined;

  const canonicalQuery = [...params.entries()]
    .filter(([key]) => key !== 'X-Amz-Signature')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => `${rfc3986(key)}=${rfc3986(value)}`)
    .join('&');
  const canonicalRequest = [
    'GET',
    '/',
    canonicalQuery,
    `host:${hostPort}`,
    '',
    'host',
    EMPTY_BODY_SHA256,
  ].join('\n');
  const scope = `${date}/${region}/rds-db/aws4_request`;
  const stringToSign = [
    'AWS4-HMAC-SHA256',
    amzDate,
    scope,
    createHash('sha256').update(canonicalRequest).digest('hex'),
  ].join('\n');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), 'rds-db'), 'aws4_request');
  const expected = createHmac('sha256', signingKey).update(stringToSign).digest();
  if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) return undefined;

  const signedAtMs = Date.parse(
    `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
  );
  const expiresSeconds = Number(params.get('X-Amz-Expires') ?? 0);
  return {
    accessKeyId,
    sessionToken: params.get('X-Amz-Security-Token'),
    dbUser: params.get('DBUser') ?? '',
    hostPort,
    region,
    signedAtMs,
    expiresAtMs: signedAtMs + expiresSeconds * 1000,
  };
}
