import { randomUUID, type webcrypto } from 'node:crypto';
import { compactVerify, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import type { ManagedIdentity } from './azure-identities.ts';

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
 */
export async function createSigningKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = randomUUID().replaceAll('-', '').slice(0, 27);
  const publicJwk = { ...(await exportJWK(publicKey)), kid, use: 'sig', alg: 'RS256' };
  return { kid, privateKey, publicKey, publicJwk };
}

export interface IssueOptions {
  identity: ManagedIdentity;
  /** The resource the token is for: its `aud`. */
  resource: string;
  tenantId: string;
  lifetimeSeconds: number;
  nowMs: number;
}

/**
 * Issues an app-only Entra v1 access token for a managed identity, with the claims Azure's tokens carry
 * (`aud`, `iss`, `tid`, `oid`, `appid`, `idtyp`, `xms_mirid`, `iat`, `nbf`, `exp`).
 *
 * @example
 * const { token } = await issueAzureToken(key, { identity, resource, tenantId, lifetimeSeconds: 3600, nowMs: Date.now() });
 */
export async function issueAzureToken(
  key: SigningKey,
  options: IssueOptions,
): Promise<{ token: string; expiresOnSeconds: number }> {
  const iat = Math.floor(options.nowMs / 1000);
  const exp = iat + options.lifetimeSeconds;
  const { identity } = options;
  const token = await new SignJWT({
    aud: options.resource,
    iss: `https://sts.windows.net/${options.tenantId}/`,
    idp: `https://sts.windows.net/${options.tenantId}/`,
    tid: options.tenantId,
    oid: identity.objectId,
    sub: identity.objectId,
    appid: identity.clientId,
    appidacr: '2',
    idtyp: 'app',
    xms_mirid: identity.resourceId,
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
 * const claims = await verifySignature(key, password); // undefined for a tampered token
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
