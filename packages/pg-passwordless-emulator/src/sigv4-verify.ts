import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { RDS_IAM_TOKEN } from './clouds/aws-facts.ts';

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
  const signed = parsed && signedParts(parsed.params);
  if (!parsed || !signed) return undefined;
  const secret = secretFor(signed.accessKeyId);
  if (!secret) return undefined;
  const expected = signatureOf(parsed, signed, secret);
  if (!timingSafeEqual(expected, Buffer.from(signed.signature, 'hex'))) return undefined;
  const signedAtMs = Date.parse(
    signed.amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'),
  );
  const expiresSeconds = Number(parsed.params.get('X-Amz-Expires') ?? 0);
  return {
    accessKeyId: signed.accessKeyId,
    sessionToken: parsed.params.get('X-Amz-Security-Token'),
    dbUser: parsed.params.get(RDS_IAM_TOKEN.userParameter) ?? '',
    hostPort: parsed.hostPort,
    region: signed.region,
    signedAtMs,
    expiresAtMs: signedAtMs + expiresSeconds * 1000,
  };
}

/** The signature's inputs a token must carry, in the form an RDS IAM token has them. */
interface SignedParts {
  accessKeyId: string;
  /** YYYYMMDD, the credential scope's date. */
  date: string;
  region: string;
  /** X-Amz-Date: YYYYMMDDTHHMMSSZ. */
  amzDate: string;
  signature: string;
}

/** The SigV4 parts of an `Action=connect` presign for `rds-db`, or undefined when any is missing or other. */
function signedParts(params: Map<string, string>): SignedParts | undefined {
  const credential = params.get('X-Amz-Credential')?.split('/');
  const amzDate = params.get('X-Amz-Date') ?? '';
  const signature = params.get('X-Amz-Signature') ?? '';
  if (
    params.get('Action') !== RDS_IAM_TOKEN.action ||
    params.get('X-Amz-Algorithm') !== RDS_IAM_TOKEN.algorithm ||
    params.get('X-Amz-SignedHeaders') !== RDS_IAM_TOKEN.signedHeaders ||
    credential?.length !== 5 ||
    credential[3] !== RDS_IAM_TOKEN.signingService ||
    credential[4] !== RDS_IAM_TOKEN.scopeTerminator ||
    !/^\d{8}T\d{6}Z$/.test(amzDate) ||
    !/^[0-9a-f]{64}$/.test(signature)
  ) {
    return undefined;
  }
  const [accessKeyId, date, region] = credential as [string, string, string];
  return amzDate.startsWith(date) ? { accessKeyId, date, region, amzDate, signature } : undefined;
}

/** The signature the token must carry, computed from the secret key (SigV4: canonical request, string to sign, key). */
function signatureOf(
  token: { hostPort: string; params: Map<string, string> },
  signed: SignedParts,
  secret: string,
): Buffer {
  const canonicalQuery = [...token.params.entries()]
    .filter(([key]) => key !== 'X-Amz-Signature')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => `${rfc3986(key)}=${rfc3986(value)}`)
    .join('&');
  const canonicalRequest = [
    'GET',
    '/',
    canonicalQuery,
    `host:${token.hostPort}`,
    '',
    RDS_IAM_TOKEN.signedHeaders,
    RDS_IAM_TOKEN.payloadHash,
  ].join('\n');
  const { date, region } = signed;
  const { signingService, scopeTerminator } = RDS_IAM_TOKEN;
  const stringToSign = [
    RDS_IAM_TOKEN.algorithm,
    signed.amzDate,
    `${date}/${region}/${signingService}/${scopeTerminator}`,
    createHash('sha256').update(canonicalRequest).digest('hex'),
  ].join('\n');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), signingService), scopeTerminator);
  return createHmac('sha256', signingKey).update(stringToSign).digest();
}
