import { X509Certificate } from 'node:crypto';
import { readJwtFacts } from '../../core/jwt-claims.ts';

/** What the doctor says of a credential file: one line about it, and what is wrong with it, if anything. */
export interface FileReading {
  summary: string;
  problem?: string;
  hint?: string;
}

/** The audience Entra requires of a federated token (Microsoft Entra Workload ID; "Workload identity federation: considerations"). */
const FEDERATION_AUDIENCE = 'api://AzureADTokenExchange';

/**
 * The workload identity's projected token, read as the doctor reads any token: who issued it, for
 * which audience and subject, and until when (never the token itself). An unreadable, empty, expired
 * file, or one for another audience, is a problem: Entra refuses the exchange.
 *
 * @example
 * const claims = { iss: 'https://eastus.oic.prod-aks.azure.com/t/c/', sub: 'system:serviceaccount:default:orders-api', aud: ['api://AzureADTokenExchange'], exp: Math.floor(Date.now() / 1000) + 3600 };
 * const token = `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;
 * console.log(readFederatedTokenFile('/token', () => token, Date.now()).summary);
 * // a token for api://AzureADTokenExchange from https://eastus.oic.prod-aks.azure.com/t/c/, subject system:serviceaccount:default:orders-api, valid 60 more minutes
 */
export function readFederatedTokenFile(
  path: string,
  read: (path: string) => string,
  nowMs: number,
): FileReading {
  let text: string;
  try {
    text = read(path).trim();
  } catch (error) {
    return unreadable(error, MOUNT_HINT);
  }
  const facts = text ? readJwtFacts(text) : undefined;
  if (!facts) {
    return { summary: text ? 'not a JWT' : 'empty', problem: 'the file holds no token', hint: MOUNT_HINT };
  }
  const { claims, audience, expiresAtMs } = facts;
  const left = expiresAtMs === undefined ? undefined : Math.floor((expiresAtMs - nowMs) / 60_000);
  const summary =
    `a token for ${audience ?? '(no audience)'} from ${String(claims.iss ?? '(no issuer)')}, subject ${String(claims.sub ?? '(none)')}` +
    (left === undefined ? '' : left >= 0 ? `, valid ${left} more minutes` : `, expired ${-left} minutes ago`);
  if (left !== undefined && left < 0) {
    return {
      summary,
      problem: 'the token has expired',
      hint: 'On AKS the kubelet renews the projected token before it expires, as long as the pod’s azure-identity-token volume is mounted: a copied file that nothing renews expires within the hour. Check the volume, and this machine’s clock.',
    };
  }
  if (!audience?.split(' ').includes(FEDERATION_AUDIENCE)) {
    return {
      summary,
      problem: `the token is not for ${FEDERATION_AUDIENCE}`,
      hint: `Entra exchanges only tokens for the audience ${FEDERATION_AUDIENCE} (its federated credentials must name it): project the service account token for that audience, as the workload identity webhook does.`,
    };
  }
  return { summary };
}

const MOUNT_HINT =
  'On AKS, label the pod azure.workload.identity/use: "true" and run it under a service account annotated with azure.workload.identity/client-id, so the webhook mounts the token and sets AZURE_FEDERATED_TOKEN_FILE; elsewhere, point the variable at the token file.';

/**
 * The service principal's certificate file: the certificate it holds (subject, SHA-1 thumbprint, end of
 * validity) and whether its private key is there too, as @azure/identity needs both in one PEM file.
 *
 * @example
 * console.log(readCertificateFile('/missing.pem', () => { throw Object.assign(new Error('no such file'), { code: 'ENOENT' }); }, Date.now()).problem);
 * // the file cannot be read (ENOENT)
 */
export function readCertificateFile(
  path: string,
  read: (path: string) => string,
  nowMs: number,
): FileReading {
  let pem: string;
  try {
    pem = read(path);
  } catch (error) {
    return unreadable(error, PEM_HINT);
  }
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(pem);
  } catch {
    return { summary: 'no certificate in it', problem: 'the file holds no PEM certificate', hint: PEM_HINT };
  }
  const subject = certificate.subject.replace(/\n/g, ', ');
  const validTo = new Date(certificate.validTo);
  const summary = `${subject}, SHA-1 thumbprint ${certificate.fingerprint.replaceAll(':', '')}, valid until ${validTo.toISOString()}`;
  if (!/-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----/.test(pem))
    return { summary, problem: 'the file holds the certificate but not its private key', hint: PEM_HINT };
  if (validTo.getTime() < nowMs) {
    return {
      summary,
      problem: 'the certificate has expired',
      hint: 'Create a new certificate credential for the application (az ad app credential reset --create-cert) and point AZURE_CLIENT_CERTIFICATE_PATH at it.',
    };
  }
  return { summary };
}

const PEM_HINT =
  'AZURE_CLIENT_CERTIFICATE_PATH must name a PEM file holding the certificate and its private key (AZURE_CLIENT_CERTIFICATE_PASSWORD for an encrypted key).';

function unreadable(error: unknown, hint: string): FileReading {
  const code = (error as { code?: unknown }).code;
  const reason = typeof code === 'string' ? code : 'unreadable';
  return { summary: reason, problem: `the file cannot be read (${reason})`, hint };
}
