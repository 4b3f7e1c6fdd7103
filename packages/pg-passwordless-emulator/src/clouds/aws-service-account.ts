import { createHash, randomBytes, randomUUID, type webcrypto } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { compactVerify, decodeJwt, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { EKS_SERVICE_ACCOUNT_TOKEN } from './aws-facts.ts';

/** What a projected service-account token says, once its signature holds. */
export interface ServiceAccountClaims {
  iss: string;
  sub: string;
  aud: string[];
  /** Epoch seconds. */
  exp: number;
  nbf: number;
}

/** A token checked against the cluster: its claims, or why it is not the cluster's. */
export type ServiceAccountVerdict =
  | { ok: true; claims: ServiceAccountClaims }
  | { ok: false; reason: 'malformed' | 'foreign-issuer' | 'signature'; issuer?: string };

/** The emulated EKS cluster: its OIDC issuer and key, and the service account of the pod. */
export interface EksCluster {
  issuer: string;
  /** `system:serviceaccount:<namespace>:<name>` of the pod's service account. */
  subject: string;
  /** Signs a projected token for the audience, as the kubelet has the API server do. */
  issueToken(options: { audience: string; lifetimeSeconds?: number; nowMs: number }): Promise<string>;
  /** Checks a token's form, issuer and signature (its times and audience are the caller's to judge). */
  verifyToken(token: string): Promise<ServiceAccountVerdict>;
}

/**
 * A cluster with a fresh RS256 key whose `kid` has the 40 hex digits the Pod Identity agent wants, an
 * issuer of EKS's form for the region, and one service account (`default/orders-api`), whose pod's
 * tokens carry the `kubernetes.io` claims.
 *
 * @example
 * const cluster = await createEksCluster('us-east-1');
 * const token = await cluster.issueToken({ audience: 'sts.amazonaws.com', nowMs: Date.now() });
 * const verdict = await cluster.verifyToken(token);
 * console.log(verdict.ok && verdict.claims.sub, verdict.ok && verdict.claims.aud); // system:serviceaccount:default:orders-api [ 'sts.amazonaws.com' ]
 * console.log(cluster.issuer.startsWith('https://oidc.eks.us-east-1.amazonaws.com/id/')); // true
 * console.log((await (await createEksCluster('us-east-1')).verifyToken(token)).ok); // false: another cluster's
 */
export async function createEksCluster(region: string): Promise<EksCluster> {
  const { privateKey, publicKey } = await generateKeyPair(EKS_SERVICE_ACCOUNT_TOKEN.algorithm);
  const kid = createHash('sha1')
    .update(JSON.stringify(await exportJWK(publicKey)))
    .digest('hex');
  const issuer = EKS_SERVICE_ACCOUNT_TOKEN.issuer(region, randomBytes(16).toString('hex').toUpperCase());
  const account = { namespace: 'default', name: 'orders-api', uid: randomUUID() };
  const pod = { name: `${account.name}-${randomBytes(3).toString('hex')}`, uid: randomUUID() };
  const subject = EKS_SERVICE_ACCOUNT_TOKEN.subject(account.namespace, account.name);
  return {
    issuer,
    subject,
    issueToken: ({ audience, lifetimeSeconds = EKS_SERVICE_ACCOUNT_TOKEN.lifetimeSeconds, nowMs }) => {
      const iat = Math.floor(nowMs / 1000);
      return new SignJWT({
        'kubernetes.io': {
          namespace: account.namespace,
          pod,
          serviceaccount: { name: account.name, uid: account.uid },
        },
      })
        .setProtectedHeader({ alg: EKS_SERVICE_ACCOUNT_TOKEN.algorithm, kid })
        .setIssuer(issuer)
        .setSubject(subject)
        .setAudience([audience])
        .setIssuedAt(iat)
        .setNotBefore(iat)
        .setExpirationTime(iat + lifetimeSeconds)
        .sign(privateKey);
    },
    verifyToken: (token) => verifyServiceAccountToken(token, issuer, publicKey),
  };
}

async function verifyServiceAccountToken(
  token: string,
  issuer: string,
  publicKey: webcrypto.CryptoKey,
): Promise<ServiceAccountVerdict> {
  let unverified: ReturnType<typeof decodeJwt>;
  try {
    unverified = decodeJwt(token);
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (unverified.iss !== issuer) return { ok: false, reason: 'foreign-issuer', issuer: unverified.iss };
  try {
    await compactVerify(token, publicKey, { algorithms: [EKS_SERVICE_ACCOUNT_TOKEN.algorithm] });
  } catch {
    return { ok: false, reason: 'signature' };
  }
  const { sub, aud, exp, nbf } = unverified;
  return {
    ok: true,
    claims: {
      iss: issuer,
      sub: sub ?? '',
      aud: typeof aud === 'string' ? [aud] : (aud ?? []),
      exp: exp ?? 0,
      nbf: nbf ?? 0,
    },
  };
}

/**
 * Writes a token file whole (a temporary file renamed into place, mode 0600), as the kubelet swaps a
 * projected token: a reader never sees half a token.
 *
 * @example
 * const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
 * const { join } = await import('node:path');
 * const { tmpdir } = await import('node:os');
 * const folder = mkdtempSync(join(tmpdir(), 'token-'));
 * writeTokenFile(join(folder, 'token'), 'eyJ.header.payload');
 * console.log(readFileSync(join(folder, 'token'), 'utf8')); // eyJ.header.payload
 * rmSync(folder, { recursive: true });
 */
export function writeTokenFile(path: string, token: string): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, token, { mode: 0o600 });
  renameSync(temporary, path);
}
