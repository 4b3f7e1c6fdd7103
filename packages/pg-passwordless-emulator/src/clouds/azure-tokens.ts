import { randomUUID, type webcrypto } from 'node:crypto';
import { compactVerify, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { entraIssuers } from './azure-facts.ts';
import type { EntraPrincipal } from './azure-identities.ts';

/** The emulator's token-signing key, as Entra's keys are published in its JWKS. */
export interface SigningKey {
  kid: string;
  privateKey: webcrypto.CryptoKey;
  publicKey: webcrypto.CryptoKey;
  publicJwk: JWK;
}

/**
 * Makes a fresh RS256 signing key.
 *
 * @example
 * const key = await createSigningKey(); // key.publicJwk goes into the JWKS
 * console.log(key.publicJwk.kty, key.publicJwk.alg, key.publicJwk.kid === key.kid); // RSA RS256 true
 */
export async function createSigningKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = randomUUID().replaceAll('-', '').slice(0, 27);
  const publicJwk = { ...(await exportJWK(publicKey)), kid, use: 'sig', alg: 'RS256' };
  return { kid, privateKey, publicKey, publicJwk };
}

export interface IssueOptions {
  /** A managed identity (its token names its resource in `xms_mirid`) or an application's service principal. */
  identity: EntraPrincipal;
  /** The resource the token is for: its `aud`. */
  resource: string;
  tenantId: string;
  /** Its `iss` (default: the public cloud's v1 issuer of the tenant, as `entraIssuers` gives it). */
  issuer?: string;
  lifetimeSeconds: number;
  nowMs: number;
}

/**
 * Issues an app-only Entra v1 access token for a managed identity or an application, with the claims
 * Azure's tokens carry (`aud`, `iss`, `tid`, `oid`, `appid`, `idtyp`, `iat`, `nbf`, `exp`, and a managed
 * identity's `xms_mirid`). Whichever endpoint hands it out, the token for the database's resource is
 * the same kind: the resource, not the endpoint, decides the token's version.
 *
 * @example
 * const key = await createSigningKey();
 * const identity = {
 *   name: 'orders-api',
 *   kind: 'system' as const,
 *   clientId: '0b6f7e4c-1111-4000-8000-000000000001',
 *   objectId: '5c2a9d3e-2222-4000-8000-000000000002',
 *   resourceId: '/subscriptions/00000000-0000-4000-8000-0000000005ab/resourcegroups/demo/providers/...',
 * };
 * const { token, expiresOnSeconds } = await issueAzureToken(key, {
 *   identity,
 *   resource: 'https://ossrdbms-aad.database.windows.net',
 *   tenantId: '72f988bf-0000-4000-8000-00000000e1e1',
 *   lifetimeSeconds: 3600,
 *   nowMs: Date.now(),
 * });
 * const claims = await verifySignature(key, token);
 * console.log(claims?.oid === identity.objectId, claims?.exp === expiresOnSeconds); // true true
 */
export async function issueAzureToken(
  key: SigningKey,
  options: IssueOptions,
): Promise<{ token: string; expiresOnSeconds: number }> {
  const iat = Math.floor(options.nowMs / 1000);
  const exp = iat + options.lifetimeSeconds;
  const { identity } = options;
  const issuer = options.issuer ?? entraIssuers('public', options.tenantId)[0];
  const token = await new SignJWT({
    aud: options.resource,
    iss: issuer,
    idp: issuer,
    tid: options.tenantId,
    oid: identity.objectId,
    sub: identity.objectId,
    appid: identity.clientId,
    appidacr: '2',
    idtyp: 'app',
    ...(identity.kind === 'application' ? {} : { xms_mirid: identity.resourceId }),
    uti: randomUUID().replaceAll('-', ''),
    ver: '1.0',
  })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: key.kid })
    .setIssuedAt(iat)
    .setNotBefore(iat)
    .setExpirationTime(exp)
    .sign(key.privateKey);
  return { token, expiresOnSeconds: exp };
}

/**
 * Checks the signature only; returns the claims when it holds, undefined when it does not.
 *
 * @example
 * const key = await createSigningKey();
 * const identity = { name: 'app', kind: 'user' as const, clientId: 'c', objectId: 'o', resourceId: '/r' };
 * const issue = { identity, resource: 'https://ossrdbms-aad.database.windows.net', tenantId: 't' };
 * const { token } = await issueAzureToken(key, { ...issue, lifetimeSeconds: 3600, nowMs: Date.now() });
 * console.log((await verifySignature(key, token))?.aud); // https://ossrdbms-aad.database.windows.net
 * console.log(await verifySignature(await createSigningKey(), token)); // undefined: signed with another key
 */
export async function verifySignature(
  key: SigningKey,
  token: string,
): Promise<Record<string, unknown> | undefined> {
  try {
    const { payload } = await compactVerify(token, key.publicKey, { algorithms: ['RS256'] });
    return JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
