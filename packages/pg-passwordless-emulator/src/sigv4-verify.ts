import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { RDS_IAM_TOKEN } from './clouds/aws-facts.ts';

/**
 * What a SigV4-presigned token of one service must be: its signing service and the `Action`s it takes,
 * with SigV4's own algorithm, scope terminator, signed header and payload hash. Each service's values
 * are in its facts table (`RDS_IAM_TOKEN`, `DSQL_TOKEN`).
 */
export interface PresignSpec {
  signingService: string;
  actions: readonly string[];
  algorithm: string;
  scopeTerminator: string;
  signedHeaders: string;
  payloadHash: string;
}

/** What a presigned token whose signature holds says; its other query parameters are in `params`. */
export interface PresignedClaims {
  accessKeyId: string;
  sessionToken: string | undefined;
  action: string;
  /** The host (and port, when signed with one) the token was signed for. */
  hostPort: string;
  region: string;
  signedAtMs: number;
  /** X-Amz-Expires: how long the signer asked the token to be valid. */
  expiresInSeconds: number;
  params: ReadonlyMap<string, string>;
}

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
 * Parses a presigned token without checking it: an RDS IAM token (`host:port/?Action=connect&DBUser=…&X-Amz-…`)
 * or an Aurora DSQL token (`host/?Action=DbConnect&X-Amz-…`).
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
  const claims = verifyPresignedToken(
    token,
    { ...RDS_IAM_TOKEN, actions: [RDS_IAM_TOKEN.action] },
    secretFor,
  );
  if (!claims) return undefined;
  return {
    accessKeyId: claims.accessKeyId,
    sessionToken: claims.sessionToken,
    dbUser: claims.params.get(RDS_IAM_TOKEN.userParameter) ?? '',
    hostPort: claims.hostPort,
    region: claims.region,
    signedAtMs: claims.signedAtMs,
    expiresAtMs: claims.signedAtMs + claims.expiresInSeconds * 1000,
  };
}

/**
 * Verifies a SigV4-presigned token (`host[:port]/?Action=…&X-Amz-…`, the form RDS and Aurora DSQL tokens
 * share) for one service: rebuilds the canonical request of `GET https://<host[:port]>/?<query>` with the
 * signed header `host`, derives the signing key from the secret key of the access key id it names, and
 * compares signatures in constant time. Returns the claims when the signature holds and the action is
 * one the service takes; time, user and endpoint checks are the caller's.
 *
 * @example
 * const { DsqlSigner } = await import('@aws-sdk/dsql-signer');
 * const credentials = { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'example-secret' };
 * const token = await new DsqlSigner({ hostname: 'abc.dsql.us-east-1.on.aws', region: 'us-east-1', credentials }).getDbConnectAdminAuthToken();
 * const spec = {
 *   signingService: 'dsql',
 *   actions: ['DbConnect', 'DbConnectAdmin'],
 *   algorithm: 'AWS4-HMAC-SHA256',
 *   scopeTerminator: 'aws4_request',
 *   signedHeaders: 'host',
 *   payloadHash: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
 * };
 * const claims = verifyPresignedToken(token, spec, (keyId) => (keyId === 'AKIAEXAMPLE' ? 'example-secret' : undefined));
 * console.log(claims?.action, claims?.hostPort, claims?.expiresInSeconds); // DbConnectAdmin abc.dsql.us-east-1.on.aws 900
 */
export function verifyPresignedToken(
  token: string,
  spec: PresignSpec,
  secretFor: (accessKeyId: string) => string | undefined,
): PresignedClaims | undefined {
  const parsed = parseRdsToken(token);
  const signed = parsed && signedParts(parsed.params, spec);
  if (!parsed || !signed) return undefined;
  const secret = secretFor(signed.accessKeyId);
  if (!secret) return undefined;
  const expected = signatureOf(parsed, signed, secret, spec);
  if (!timingSafeEqual(expected, Buffer.from(signed.signature, 'hex'))) return undefined;
  const signedAtMs = Date.parse(
    signed.amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'),
  );
  return {
    accessKeyId: signed.accessKeyId,
    sessionToken: parsed.params.get('X-Amz-Security-Token'),
    action: parsed.params.get('Action') ?? '',
    hostPort: parsed.hostPort,
    region: signed.region,
    signedAtMs,
    expiresInSeconds: Number(parsed.params.get('X-Amz-Expires') ?? 0),
    params: parsed.params,
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

/** The SigV4 parts of a presign of one of the service's actions, or undefined when any is missing or other. */
function signedParts(params: Map<string, string>, spec: PresignSpec): SignedParts | undefined {
  const credential = params.get('X-Amz-Credential')?.split('/');
  const amzDate = params.get('X-Amz-Date') ?? '';
  const signature = params.get('X-Amz-Signature') ?? '';
  if (
    !spec.actions.includes(params.get('Action') ?? '') ||
    params.get('X-Amz-Algorithm') !== spec.algorithm ||
    params.get('X-Amz-SignedHeaders') !== spec.signedHeaders ||
    credential?.length !== 5 ||
    credential[3] !== spec.signingService ||
    credential[4] !== spec.scopeTerminator ||
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
  spec: PresignSpec,
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
    spec.signedHeaders,
    spec.payloadHash,
  ].join('\n');
  const { date, region } = signed;
  const { signingService, scopeTerminator } = spec;
  const stringToSign = [
    spec.algorithm,
    signed.amzDate,
    `${date}/${region}/${signingService}/${scopeTerminator}`,
    createHash('sha256').update(canonicalRequest).digest('hex'),
  ].join('\n');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), signingService), scopeTerminator);
  return createHmac('sha256', signingKey).update(stringToSign).digest();
}
