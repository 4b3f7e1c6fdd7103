import { renameSync, writeFileSync } from 'node:fs';
import { compactVerify, decodeJwt, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import type { Route, RouteAnswer } from '../identity-server.ts';
import { googleHttpsRoute, oauthError, readForm } from './gcp-https-route.ts';
import {
  defaultAllowedAudiences,
  type OAuthRefusal,
  PROVIDER_AUDIENCE_PATTERN,
  providerResourceName,
  STS_REFUSALS as REFUSED,
  STS,
} from './gcp-oauth-facts.ts';
import type { TokenStore } from './gcp-tokens.ts';

/**
 * The outside identity provider of workload identity federation, as the emulator plays it: a
 * Kubernetes cluster whose service account tokens (projected into a file the workload reads) a workload
 * identity pool provider trusts. Its issuer is the cluster's default one.
 */
export interface WorkloadIdentityProvider {
  /** The provider's full resource name: the `audience` of the external_account file. */
  resourceName: string;
  issuer: string;
  /** The subject the tokens name: `system:serviceaccount:<namespace>:<name>`. */
  subject: string;
  /** The federated principal a token exchanged for this subject speaks for. */
  principal: string;
  /** Signs a subject token (claims override the defaults: another `aud`, an `exp` in the past). */
  signSubjectToken(nowMs: number, lifetimeSeconds: number, claims?: JWTPayload): Promise<string>;
  /** Whether the token was signed by this provider's issuer. */
  verifies(token: string): Promise<boolean>;
}

const POOL = 'pg-passwordless-pool';
const PROVIDER = 'emulator';

/**
 * A provider for a project, with a fresh signing key. The principal follows Google's form for one
 * subject of a pool: `principal://iam.googleapis.com/projects/<number>/locations/global/
 * workloadIdentityPools/<pool>/subject/<subject>` ("Principal identifiers", cloud.google.com/iam/docs/
 * principal-identifiers).
 *
 * @example
 * const provider = await createWorkloadIdentityProvider('271828182845');
 * console.log(provider.resourceName.endsWith('/workloadIdentityPools/pg-passwordless-pool/providers/emulator')); // true
 * const token = await provider.signSubjectToken(Date.now(), 3600);
 * console.log(await provider.verifies(token)); // true
 */
export async function createWorkloadIdentityProvider(
  projectNumber: string,
): Promise<WorkloadIdentityProvider> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const resourceName = providerResourceName(projectNumber, POOL, PROVIDER);
  const issuer = 'https://kubernetes.default.svc.cluster.local';
  const subject = 'system:serviceaccount:default:orders';
  return {
    resourceName,
    issuer,
    subject,
    principal: `principal://iam.googleapis.com/projects/${projectNumber}/locations/global/workloadIdentityPools/${POOL}/subject/${subject}`,
    signSubjectToken: (nowMs, lifetimeSeconds, claims = {}) => {
      const iat = Math.floor(nowMs / 1000);
      return new SignJWT({
        iss: issuer,
        sub: subject,
        // The provider lists no allowed audiences: the default one, its name with the https: prefix.
        aud: defaultAllowedAudiences(resourceName)[1],
        iat,
        exp: iat + lifetimeSeconds,
        ...claims,
      })
        .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
        .sign(privateKey);
    },
    verifies: async (token) => {
      try {
        await compactVerify(token, publicKey, { algorithms: ['RS256'] });
        return true;
      } catch {
        return false;
      }
    },
  };
}

/**
 * Writes a subject token file as the platform does (whole, mode 0600: a new file renamed into place, as
 * the kubelet swaps a projected token), for the workload to read.
 *
 * @example
 * const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
 * const { tmpdir } = await import('node:os');
 * const { join } = await import('node:path');
 * const folder = mkdtempSync(join(tmpdir(), 'subject-token-'));
 * const provider = await createWorkloadIdentityProvider('271828182845');
 * await writeSubjectTokenFile(join(folder, 'token'), provider, { nowMs: Date.now(), lifetimeSeconds: 600 });
 * console.log(readFileSync(join(folder, 'token'), 'utf8').split('.').length); // 3
 * rmSync(folder, { recursive: true });
 */
export async function writeSubjectTokenFile(
  path: string,
  provider: WorkloadIdentityProvider,
  token: { nowMs: number; lifetimeSeconds: number; claims?: JWTPayload },
): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(
    temporary,
    await provider.signSubjectToken(token.nowMs, token.lifetimeSeconds, token.claims),
    {
      mode: 0o600,
    },
  );
  renameSync(temporary, path);
}

/**
 * The `external_account` credential configuration `gcloud iam workload-identity-pools create-cred-config
 * --credential-source-file=... --service-account=...` writes ("Configure workload identity federation
 * with other identity providers", cloud.google.com/iam/docs/workload-identity-federation-with-other-
 * providers): the provider as `audience`, the subject token's type and file, the STS `token_url`, and the
 * account to impersonate through `service_account_impersonation_url` — here all on the emulator.
 *
 * @example
 * const file = externalAccountFile({
 *   audience: '//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/q',
 *   subjectTokenFile: '/var/run/token',
 *   origin: 'https://127.0.0.1:4443',
 *   serviceAccount: 'orders@shop.iam.gserviceaccount.com',
 * });
 * console.log(file.type, file.token_url); // external_account https://127.0.0.1:4443/v1/token
 */
export function externalAccountFile(config: {
  audience: string;
  subjectTokenFile: string;
  origin: string;
  serviceAccount: string;
}): Record<string, unknown> {
  return {
    type: 'external_account',
    audience: config.audience,
    subject_token_type: STS.subjectTokenTypes[0],
    token_url: `${config.origin}${STS.path}`,
    service_account_impersonation_url: `${config.origin}/v1/projects/-/serviceAccounts/${config.serviceAccount}:generateAccessToken`,
    credential_source: { file: config.subjectTokenFile, format: { type: 'text' } },
    universe_domain: 'googleapis.com',
  };
}

/** What the STS checks a token exchange against. */
export interface StsState {
  provider: WorkloadIdentityProvider;
  tokens: TokenStore;
  now: () => number;
  lifetimeSeconds: () => number;
  onIssued: () => void;
}

/**
 * The Security Token Service's token exchange (`POST token_url`): an OIDC subject token from the
 * provider's issuer, for an audience the provider allows, unexpired, exchanged for a federated access
 * token of the principal it names.
 *
 * @example
 * const provider = await createWorkloadIdentityProvider('271828182845');
 * const routes = stsRoutes({
 *   provider,
 *   tokens: { issue: () => 'ya29.opaque', lookUp: () => undefined },
 *   now: Date.now,
 *   lifetimeSeconds: () => 3600,
 *   onIssued: () => {},
 * });
 * console.log(routes[0]?.matches('/v1/token')); // true
 */
export function stsRoutes(state: StsState): Route[] {
  return [
    googleHttpsRoute(
      (path) => path === STS.path,
      async (request): Promise<RouteAnswer> => {
        const form = await readForm(request);
        const refusal = checkExchange(form, state.provider.resourceName);
        if (refusal) return oauthError(refusal);
        const subjectRefusal = await checkSubjectToken(form.get('subject_token') ?? '', state);
        if (subjectRefusal) return oauthError(subjectRefusal);
        const lifetimeSeconds = state.lifetimeSeconds();
        const scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
        state.onIssued();
        const token = state.tokens.issue({ principal: state.provider.principal, scopes }, lifetimeSeconds);
        return {
          status: 200,
          body: {
            access_token: token,
            issued_token_type: STS.issuedTokenType,
            token_type: 'Bearer',
            expires_in: lifetimeSeconds,
          },
        };
      },
    ),
  ];
}

/** The request itself: a token exchange for an access token, from an OIDC token, for this provider. */
function checkExchange(form: URLSearchParams, resourceName: string): OAuthRefusal | undefined {
  if (form.get('grant_type') !== STS.grantType)
    return REFUSED.malformed(`grant_type must be ${STS.grantType}`);
  if (form.get('requested_token_type') !== STS.requestedTokenType)
    return REFUSED.malformed(`requested_token_type must be ${STS.requestedTokenType}`);
  if (!(STS.subjectTokenTypes as readonly string[]).includes(form.get('subject_token_type') ?? ''))
    return REFUSED.malformed(`subject_token_type must be one of ${STS.subjectTokenTypes.join(', ')}`);
  const audience = form.get('audience') ?? '';
  if (!PROVIDER_AUDIENCE_PATTERN.test(audience)) return REFUSED.audienceFormat;
  return audience === resourceName ? undefined : REFUSED.unknownProvider;
}

async function checkSubjectToken(token: string, state: StsState): Promise<OAuthRefusal | undefined> {
  let claims: JWTPayload;
  try {
    claims = decodeJwt(token);
  } catch {
    return REFUSED.malformed('subject_token is not a JWT');
  }
  const { provider } = state;
  if (claims.iss !== provider.issuer || !(await provider.verifies(token))) return REFUSED.untrusted;
  const audience = Array.isArray(claims.aud) ? claims.aud.join(',') : String(claims.aud);
  if (!defaultAllowedAudiences(provider.resourceName).includes(audience))
    return REFUSED.subjectAudience(audience);
  const nowSeconds = Math.floor(state.now() / 1000);
  if (typeof claims.exp !== 'number' || claims.exp <= nowSeconds) return REFUSED.stale(Number(claims.iat));
  return undefined;
}
