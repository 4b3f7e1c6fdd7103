import { type LoginCheck, type LoginValidator, passwordFailed } from '../login-validator.ts';
import { ENTRA_REFUSALS, NOT_BEFORE_SKEW_SECONDS } from './azure-facts.ts';
import { type SigningKey, verifySignature } from './azure-tokens.ts';

/** An Entra principal mapped to a role, as `pgaadauth_create_principal[_with_oid]` records it. */
export interface EntraRole {
  roleName: string;
  objectId: string;
  type: 'user' | 'service';
}

export interface AzureValidatorOptions {
  key: SigningKey;
  /** The resource tokens must be for (`aud`), per the server's cloud. */
  resource: string;
  tenantId: string;
  /** The issuers (`iss`) the server accepts: the tenant's v1 and v2 forms in its cloud (`entraIssuers`). */
  issuers: readonly string[];
  roles(): readonly EntraRole[];
  now(): number;
}

const INVALID = '28000';

/**
 * Checks a password the way Azure Database for PostgreSQL checks an Entra token: signature, issuer,
 * audience, validity window, tenant, the role found by object id, and the principal type. Where Azure's text is
 * known (expired token, wrong audience, wrong token type), the same text is sent.
 *
 * @example
 * const { exportJWK, generateKeyPair, SignJWT } = await import('jose');
 * const { privateKey, publicKey } = await generateKeyPair('RS256');
 * const key = { kid: 'k1', privateKey, publicKey, publicJwk: await exportJWK(publicKey) };
 * const resource = 'https://ossrdbms-aad.database.windows.net';
 * const tenantId = '72f988bf-0000-4000-8000-00000000e1e1';
 * const objectId = '5c2a9d3e-2222-4000-8000-000000000002';
 * const roles = () => [{ roleName: 'orders-api', objectId, type: 'service' as const }];
 * const issuers = [`https://sts.windows.net/${tenantId}/`];
 * const validator = azureValidator({ key, resource, tenantId, issuers, roles, now: Date.now });
 * const token = await new SignJWT({ aud: resource, tid: tenantId, oid: objectId, idtyp: 'app' })
 *   .setProtectedHeader({ alg: 'RS256' })
 *   .setIssuer(issuers[0] as string)
 *   .setExpirationTime('1h')
 *   .sign(privateKey);
 * console.log(await validator.check('orders-api', token)); // { ok: true, role: 'orders-api' }
 * console.log((await validator.check('reports', token)).ok); // false: no such role
 */
export function azureValidator(options: AzureValidatorOptions): LoginValidator {
  return {
    async check(user: string, password: string): Promise<LoginCheck> {
      if (!looksLikeJwt(password)) return passwordFailed(user);
      const claims = await verifySignature(options.key, password);
      if (!claims) return fail(ENTRA_REFUSALS.signature);
      const refusal = tokenRefusal(claims, options);
      if (refusal) return fail(refusal);
      // Azure matches the role to the token by object id, and the role name must equal the startup user exactly.
      const role = options.roles().find((candidate) => candidate.roleName === user);
      if (!role) return passwordFailed(user);
      const mismatch = principalRefusal(claims, role);
      return mismatch ? fail(mismatch) : { ok: true, role: user };
    },
  };
}

/** What is wrong with a signed token whoever presents it: issuer, audience, validity window, tenant. */
function tokenRefusal(claims: Record<string, unknown>, options: AzureValidatorOptions): string | undefined {
  // Entra's signing keys are shared by all tenants: the issuer, not the key, says whose token it is.
  if (typeof claims.iss !== 'string' || !options.issuers.includes(claims.iss)) return ENTRA_REFUSALS.issuer;
  if (claims.aud !== options.resource) return ENTRA_REFUSALS.audience(options.resource);
  const nowSeconds = options.now() / 1000;
  if (typeof claims.exp !== 'number' || nowSeconds >= claims.exp) return ENTRA_REFUSALS.expired;
  if (typeof claims.nbf === 'number' && nowSeconds + NOT_BEFORE_SKEW_SECONDS < claims.nbf)
    return ENTRA_REFUSALS.notYetValid;
  if (claims.tid !== options.tenantId) return ENTRA_REFUSALS.tenant;
  return undefined;
}

/** Whether the token's principal is the role's: its object id, and an app token for a service role only. */
function principalRefusal(claims: Record<string, unknown>, role: EntraRole): string | undefined {
  if (role.objectId !== claims.oid) return ENTRA_REFUSALS.otherPrincipal(role.roleName);
  const appToken = claims.idtyp === 'app';
  if (appToken && role.type === 'user') return ENTRA_REFUSALS.appTokenForUserRole(role.roleName);
  if (!appToken && role.type === 'service') return ENTRA_REFUSALS.userTokenForServiceRole(role.roleName);
  return undefined;
}

function fail(message: string): LoginCheck {
  return { ok: false, sqlState: INVALID, message };
}

function looksLikeJwt(password: string): boolean {
  const parts = password.split('.');
  if (parts.length !== 3) return false;
  try {
    return typeof JSON.parse(Buffer.from(parts[0] as string, 'base64url').toString('utf8')).alg === 'string';
  } catch {
    return false;
  }
}
