import { compactVerify, decodeJwt, decodeProtectedHeader } from 'jose';
import { type ApplicationCredentials, secretMatches } from './azure-client-credentials.ts';
import {
  CERTIFICATE_ASSERTION,
  ENTRA_TOKEN_REFUSALS,
  ENTRA_V2,
  type EntraRefusal,
  NOT_BEFORE_SKEW_SECONDS,
} from './azure-facts.ts';
import type { EntraPrincipal } from './azure-identities.ts';
import {
  type FederatedCredential,
  verifyFederatedToken,
  type WorkloadCluster,
} from './azure-workload-identity.ts';

/** A principal that may sign in at the token endpoint, and what it signs in with. */
export interface EntraClient {
  principal: EntraPrincipal;
  /** An application's client secret and certificate. */
  application?: ApplicationCredentials;
  /** A user-assigned identity's federated credential (workload identity). */
  federation?: FederatedCredential;
}

export interface ClientAuthContext {
  clients(): readonly EntraClient[];
  /** The cluster whose service account tokens the federated credentials trust. */
  cluster?: WorkloadCluster;
  /** The token endpoint the request came to: a certificate assertion must be for it (`aud`). */
  tokenUrl: string;
  nowMs: number;
}

/**
 * Checks a client credentials request as Entra does: the grant, the client id, then its credential (a
 * client secret, a certificate assertion, or a federated token matched against the client's federated
 * credential), then the scope. Answers the client, or Entra's refusal.
 *
 * @example
 * const tenant = '72f988bf-0000-4000-8000-00000000e1e1';
 * const context = { clients: () => [], tokenUrl: `https://127.0.0.1/${tenant}/oauth2/v2.0/token`, nowMs: Date.now() };
 * const form = new URLSearchParams({
 *   grant_type: 'client_credentials',
 *   client_id: '0b6f7e4c-1111-4000-8000-000000000001',
 *   client_secret: 'a secret',
 *   scope: 'https://ossrdbms-aad.database.windows.net/.default',
 * });
 * const unknown = await authenticateClient(form, context);
 * console.log('refusal' in unknown && unknown.refusal.code, 'refusal' in unknown && unknown.refusal.status); // 700016 400
 * form.set('grant_type', 'password');
 * const grant = await authenticateClient(form, context);
 * console.log('refusal' in grant && grant.refusal.error); // unsupported_grant_type
 */
export async function authenticateClient(
  form: URLSearchParams,
  context: ClientAuthContext,
): Promise<{ client: EntraClient; resource: string } | { refusal: EntraRefusal }> {
  if (form.get('grant_type') !== ENTRA_V2.grantType) return { refusal: ENTRA_TOKEN_REFUSALS.badGrant() };
  const clientId = form.get('client_id') ?? '';
  const client = context
    .clients()
    .find((candidate) => candidate.principal.clientId.toLowerCase() === clientId.toLowerCase());
  if (!client) return { refusal: ENTRA_TOKEN_REFUSALS.unknownClient(clientId, tenantOf(context.tokenUrl)) };
  const refusal = await credentialRefusal(form, client, context);
  if (refusal) return { refusal };
  const scope = form.get('scope') ?? '';
  // One resource's application permissions: `<resource>/.default`, and nothing else.
  if (!scope.endsWith(ENTRA_V2.defaultScopeSuffix) || /\s/.test(scope.trim()))
    return { refusal: ENTRA_TOKEN_REFUSALS.badScope(scope) };
  return { client, resource: scope.slice(0, -ENTRA_V2.defaultScopeSuffix.length) };
}

function tenantOf(tokenUrl: string): string {
  return new URL(tokenUrl).pathname.split('/')[1] ?? '';
}

async function credentialRefusal(
  form: URLSearchParams,
  client: EntraClient,
  context: ClientAuthContext,
): Promise<EntraRefusal | undefined> {
  const secret = form.get('client_secret');
  const assertion = form.get('client_assertion');
  const { clientId } = client.principal;
  if (secret !== null) {
    return client.application && secretMatches(client.application, secret)
      ? undefined
      : ENTRA_TOKEN_REFUSALS.badSecret(clientId);
  }
  if (assertion === null || form.get('client_assertion_type') !== ENTRA_V2.assertionType)
    return ENTRA_TOKEN_REFUSALS.noCredential();
  const header = tryRead(() => decodeProtectedHeader(assertion));
  if (!header) return ENTRA_TOKEN_REFUSALS.invalidJwt('The token format is not proper.');
  const namesCertificate = Object.keys(CERTIFICATE_ASSERTION.thumbprintHeaders).some(
    (name) => name in header,
  );
  if (client.federation && !namesCertificate) return federatedRefusal(assertion, client.federation, context);
  return certificateRefusal(assertion, header, client, context);
}

/** A certificate assertion: the certificate it names is the application's, its signature, claims and time. */
async function certificateRefusal(
  assertion: string,
  header: Record<string, unknown>,
  client: EntraClient,
  context: ClientAuthContext,
): Promise<EntraRefusal | undefined> {
  const { clientId } = client.principal;
  const named = Object.entries(CERTIFICATE_ASSERTION.thumbprintHeaders).find(([name]) => name in header);
  if (!named) return ENTRA_TOKEN_REFUSALS.invalidJwt('No certificate thumbprint specified in token header.');
  const [headerName, algorithm] = named;
  const presented = String(header[headerName]);
  const certificate = client.application?.certificate;
  if (!certificate || certificate.thumbprints[algorithm] !== presented)
    return ENTRA_TOKEN_REFUSALS.keyNotRegistered(hexOf(presented), clientId);
  const verified = await compactVerify(assertion, certificate.publicKey, {
    algorithms: CERTIFICATE_ASSERTION.algorithms,
  }).catch(() => undefined);
  if (!verified) return ENTRA_TOKEN_REFUSALS.badSignature();
  const claims = decodeJwt(assertion);
  if (claims.iss !== clientId || claims.sub !== clientId)
    return ENTRA_TOKEN_REFUSALS.invalidJwt("The assertion's iss and sub must both be the client id.");
  if (claims.aud !== context.tokenUrl)
    return ENTRA_TOKEN_REFUSALS.invalidJwt(`The assertion's audience is not ${context.tokenUrl}.`);
  return timeRefusal(claims, context.nowMs);
}

/** A federated token: signed by the trusted cluster, within its time, and matching the federated credential exactly. */
async function federatedRefusal(
  assertion: string,
  federation: FederatedCredential,
  context: ClientAuthContext,
): Promise<EntraRefusal | undefined> {
  const claims = context.cluster ? await verifyFederatedToken(context.cluster, assertion) : undefined;
  if (!claims) return ENTRA_TOKEN_REFUSALS.badSignature();
  const late = timeRefusal(claims, context.nowMs);
  if (late) return late;
  const audiences = Array.isArray(claims.aud) ? claims.aud.map(String) : [String(claims.aud)];
  // Exact, case-sensitive matches: Entra has no wildcards here.
  const matches =
    claims.iss === federation.issuer &&
    claims.sub === federation.subject &&
    audiences.includes(federation.audience);
  return matches
    ? undefined
    : ENTRA_TOKEN_REFUSALS.noFederatedRecord(String(claims.iss), String(claims.sub), audiences.join(','));
}

/** `exp` passed, or `nbf` more than the allowed skew ahead: Entra's 700024, with its times. */
function timeRefusal(claims: Record<string, unknown>, nowMs: number): EntraRefusal | undefined {
  const nowSeconds = nowMs / 1000;
  const exp = typeof claims.exp === 'number' ? claims.exp : 0;
  const nbf = typeof claims.nbf === 'number' ? claims.nbf : 0;
  if (nowSeconds < exp && nowSeconds + NOT_BEFORE_SKEW_SECONDS >= nbf) return undefined;
  return ENTRA_TOKEN_REFUSALS.assertionOutOfTime(
    entraTime(nowMs),
    entraTime(nbf * 1000),
    entraTime(exp * 1000),
  );
}

/** Entra's time format in these texts: seven fractional digits. */
function entraTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$10000Z');
}

function hexOf(base64url: string): string {
  return Buffer.from(base64url, 'base64url').toString('hex').toUpperCase();
}

function tryRead<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}
