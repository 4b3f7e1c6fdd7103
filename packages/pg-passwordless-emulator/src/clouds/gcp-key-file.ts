import { generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import { compactVerify, decodeJwt, type JWTPayload } from 'jose';
import type { Route, RouteAnswer } from '../identity-server.ts';
import { googleHttpsRoute, oauthError, readForm } from './gcp-https-route.ts';
import {
  ASSERTION_CLOCK_SKEW_SECONDS,
  JWT_BEARER_GRANT,
  MAX_ASSERTION_LIFETIME_SECONDS,
  type OAuthRefusal,
  TOKEN_ENDPOINT_REFUSALS as REFUSED,
} from './gcp-oauth-facts.ts';
import type { TokenStore } from './gcp-tokens.ts';

/** One key of a service account, as `gcloud iam service-accounts keys create` makes it. */
export interface ServiceAccountKey {
  email: string;
  /** `private_key_id`: 40 hex digits, as Google's are. */
  keyId: string;
  privateKeyPem: string;
  publicKey: KeyObject;
}

/**
 * A fresh RSA key for a service account (2048 bits, the private half PKCS#8, as in Google's key files).
 *
 * @example
 * const key = createServiceAccountKey('orders@shop.iam.gserviceaccount.com');
 * console.log(key.keyId.length, key.privateKeyPem.startsWith('-----BEGIN PRIVATE KEY-----')); // 40 true
 */
export function createServiceAccountKey(email: string): ServiceAccountKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    email,
    keyId: randomBytes(20).toString('hex'),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKey,
  };
}

/**
 * The JSON key file of a service account, with the fields of the ones the Google Cloud console hands
 * out ("Create and delete service account keys", cloud.google.com/iam/docs/keys-create-delete), its
 * `token_uri` the emulator's own token endpoint.
 *
 * @example
 * const key = createServiceAccountKey('orders@shop.iam.gserviceaccount.com');
 * const file = serviceAccountKeyFile(key, { projectId: 'shop', tokenUri: 'https://127.0.0.1:4443/token' });
 * console.log(file.type, file.client_email, file.token_uri); // service_account orders@shop.iam.gserviceaccount.com https://127.0.0.1:4443/token
 */
export function serviceAccountKeyFile(
  key: ServiceAccountKey,
  where: { projectId: string; tokenUri: string },
): Record<string, string> {
  return {
    type: 'service_account',
    project_id: where.projectId,
    private_key_id: key.keyId,
    private_key: key.privateKeyPem,
    client_email: key.email,
    client_id: BigInt(`0x${key.keyId.slice(0, 16)}`).toString(),
    auth_uri: 'https://accounts.google.com/o/oauth2/auth',
    token_uri: where.tokenUri,
    auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs',
    client_x509_cert_url: `https://www.googleapis.com/robot/v1/metadata/x509/${encodeURIComponent(key.email)}`,
    universe_domain: 'googleapis.com',
  };
}

/** What the token endpoint checks assertions against. */
export interface TokenEndpointState {
  /** The keys each account has now (a deleted key is gone). */
  keysOf(email: string): readonly ServiceAccountKey[] | undefined;
  tokens: TokenStore;
  now: () => number;
  lifetimeSeconds: () => number;
  onIssued: () => void;
}

/**
 * Google's OAuth 2.0 token endpoint for service-account keys (`POST token_uri`, `grant_type=
 * urn:ietf:params:oauth:grant-type:jwt-bearer`, `assertion=<RS256 JWT>`), answering with an access token
 * for the assertion's `iss` and `scope`, or refusing as Google does: an unknown account, a signature no
 * key of the account verifies, an `aud` other than the URL it was sent to, an assertion outside its hour,
 * a missing or unknown scope.
 *
 * @example
 * const routes = tokenEndpointRoutes({
 *   keysOf: () => undefined,
 *   tokens: { issue: () => 'ya29.opaque', lookUp: () => undefined },
 *   now: Date.now,
 *   lifetimeSeconds: () => 3600,
 *   onIssued: () => {},
 * });
 * console.log(routes[0]?.matches('/token')); // true
 */
export function tokenEndpointRoutes(state: TokenEndpointState): Route[] {
  return [
    googleHttpsRoute(
      (path) => path === '/token',
      async (request, addressed): Promise<RouteAnswer> => {
        const form = await readForm(request);
        const grant = form.get('grant_type') ?? '';
        if (grant !== JWT_BEARER_GRANT) return oauthError(REFUSED.grantType(grant));
        const checked = await checkAssertion(form.get('assertion') ?? '', `${addressed.origin}/token`, state);
        if ('refusal' in checked) return oauthError(checked.refusal);
        const lifetimeSeconds = state.lifetimeSeconds();
        const email = checked.claims.iss as string;
        const scopes = String(checked.claims.scope).split(' ');
        state.onIssued();
        const token = state.tokens.issue(
          { serviceAccount: email, principal: email, scopes },
          lifetimeSeconds,
        );
        return {
          status: 200,
          body: { access_token: token, expires_in: lifetimeSeconds, token_type: 'Bearer' },
        };
      },
    ),
  ];
}

/** The assertion's claims once every check passed, or the refusal of the first that failed. */
async function checkAssertion(
  assertion: string,
  audience: string,
  state: TokenEndpointState,
): Promise<{ claims: JWTPayload } | { refusal: OAuthRefusal }> {
  let claims: JWTPayload;
  try {
    claims = decodeJwt(assertion);
  } catch {
    return { refusal: REFUSED.signature };
  }
  const keys = typeof claims.iss === 'string' ? state.keysOf(claims.iss) : undefined;
  if (!keys) return { refusal: REFUSED.unknownAccount };
  if (!(await signedByOneOf(assertion, keys))) return { refusal: REFUSED.signature };
  if (claims.aud !== audience) return { refusal: REFUSED.audience };
  if (!inTimeframe(claims, Math.floor(state.now() / 1000))) return { refusal: REFUSED.timeframe };
  const scope = typeof claims.scope === 'string' ? claims.scope.trim() : '';
  if (scope === '') return { refusal: REFUSED.noScope };
  // Google's scopes are URLs of its own: anything else is no scope of any API.
  if (!scope.split(' ').every((one) => /^https:\/\/www\.googleapis\.com\/auth\/[\w.-]+$/.test(one)))
    return { refusal: REFUSED.badScope };
  return { claims };
}

async function signedByOneOf(assertion: string, keys: readonly ServiceAccountKey[]): Promise<boolean> {
  for (const key of keys) {
    try {
      await compactVerify(assertion, key.publicKey, { algorithms: ['RS256'] });
      return true;
    } catch {
      // not this key: try the account's next one
    }
  }
  return false;
}

/** Unexpired, issued no later than a minute ahead of this clock, and living at most an hour. */
function inTimeframe(claims: JWTPayload, nowSeconds: number): boolean {
  const { iat, exp } = claims;
  if (typeof iat !== 'number' || typeof exp !== 'number') return false;
  return (
    exp > nowSeconds &&
    iat <= nowSeconds + ASSERTION_CLOCK_SKEW_SECONDS &&
    exp - iat <= MAX_ASSERTION_LIFETIME_SECONDS
  );
}
