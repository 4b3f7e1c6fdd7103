import { randomUUID } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { SignJWT } from 'jose';
import { WORKLOAD_IDENTITY } from './azure-facts.ts';
import { createSigningKey, type SigningKey, verifySignature } from './azure-tokens.ts';

/** A federated identity credential: the external tokens a principal may sign in with. */
export interface FederatedCredential {
  issuer: string;
  subject: string;
  audience: string;
}

/**
 * The AKS cluster the emulator plays for workload identity: its OIDC issuer and signing key (whose
 * public half Entra fetches from the issuer's discovery document; here Entra is the emulator too), and
 * the service account the pod runs as.
 */
export interface WorkloadCluster {
  key: SigningKey;
  issuer: string;
  namespace: string;
  serviceAccount: string;
}

/**
 * A cluster for the tenant, with the service account `default/orders-api` and an issuer of AKS's form.
 *
 * @example
 * const cluster = await createWorkloadCluster('72f988bf-0000-4000-8000-00000000e1e1');
 * console.log(cluster.issuer.startsWith('https://eastus.oic.prod-aks.azure.com/72f988bf-'), federationOf(cluster).subject);
 * // true system:serviceaccount:default:orders-api
 */
export async function createWorkloadCluster(tenantId: string): Promise<WorkloadCluster> {
  return {
    key: await createSigningKey(),
    issuer: WORKLOAD_IDENTITY.issuer('eastus', tenantId, randomUUID()),
    namespace: 'default',
    serviceAccount: 'orders-api',
  };
}

/** The federated credential that trusts this cluster's service account, as `az identity federated-credential create` makes it. */
export function federationOf(cluster: WorkloadCluster): FederatedCredential {
  return {
    issuer: cluster.issuer,
    subject: WORKLOAD_IDENTITY.subject(cluster.namespace, cluster.serviceAccount),
    audience: WORKLOAD_IDENTITY.audience,
  };
}

/** What a projected token may be made to say otherwise (tests: another audience, subject or issuer; expired). */
export interface FederatedTokenOptions {
  audience?: string;
  subject?: string;
  issuer?: string;
  lifetimeSeconds?: number;
  nowMs?: number;
}

/**
 * A service account token as the kubelet projects it for workload identity: RS256, `aud` a list holding
 * `api://AzureADTokenExchange`, the cluster's `iss`, `sub` naming the service account, and the
 * `kubernetes.io` claim.
 *
 * @example
 * const cluster = await createWorkloadCluster('72f988bf-0000-4000-8000-00000000e1e1');
 * const token = await issueFederatedToken(cluster, { nowMs: Date.now() });
 * const claims = await verifyFederatedToken(cluster, token);
 * console.log(claims?.aud, (claims?.exp as number) - (claims?.iat as number)); // [ 'api://AzureADTokenExchange' ] 3600
 */
export async function issueFederatedToken(
  cluster: WorkloadCluster,
  options: FederatedTokenOptions = {},
): Promise<string> {
  const iat = Math.floor((options.nowMs ?? Date.now()) / 1000);
  const federation = federationOf(cluster);
  return new SignJWT({
    aud: [options.audience ?? federation.audience],
    'kubernetes.io': {
      namespace: cluster.namespace,
      serviceaccount: { name: cluster.serviceAccount, uid: randomUUID() },
    },
  })
    .setProtectedHeader({ alg: 'RS256', kid: cluster.key.kid })
    .setIssuer(options.issuer ?? federation.issuer)
    .setSubject(options.subject ?? federation.subject)
    .setIssuedAt(iat)
    .setNotBefore(iat)
    .setExpirationTime(iat + (options.lifetimeSeconds ?? WORKLOAD_IDENTITY.tokenLifetimeSeconds))
    .sign(cluster.key.privateKey);
}

/** The claims of a token this cluster signed; undefined for any other token. */
export function verifyFederatedToken(
  cluster: WorkloadCluster,
  token: string,
): Promise<Record<string, unknown> | undefined> {
  return verifySignature(cluster.key, token);
}

/**
 * Keeps a projected token in `path` as the kubelet does: written now, and written again once 80% of its
 * life has passed, so a long-running emulator's file never expires. The file is replaced whole (a
 * reader never sees half a token); its timer does not keep the process alive.
 *
 * @example
 * const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
 * const { join } = await import('node:path');
 * const { tmpdir } = await import('node:os');
 * const folder = mkdtempSync(join(tmpdir(), 'projection-'));
 * const cluster = await createWorkloadCluster('72f988bf-0000-4000-8000-00000000e1e1');
 * const projection = await projectFederatedToken(join(folder, 'azure-identity-token'), () => issueFederatedToken(cluster));
 * console.log(readFileSync(join(folder, 'azure-identity-token'), 'utf8').split('.').length); // 3
 * projection.stop();
 * rmSync(folder, { recursive: true, force: true });
 */
export async function projectFederatedToken(
  path: string,
  issue: () => Promise<string>,
  lifetimeSeconds: number = WORKLOAD_IDENTITY.tokenLifetimeSeconds,
): Promise<{ stop(): void }> {
  const write = async () => {
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, await issue(), { mode: 0o600 });
    renameSync(temporary, path);
  };
  await write();
  const timer = setInterval(
    () => void write().catch(() => undefined),
    lifetimeSeconds * 1000 * WORKLOAD_IDENTITY.renewAtFraction,
  );
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
