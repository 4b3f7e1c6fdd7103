import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { decodeJwt } from 'jose';
import type { Route, RouteAnswer } from '../identity-server.ts';
import type { CredentialIssuer } from './aws-credentials.ts';
import { EKS_SERVICE_ACCOUNT_TOKEN, podIdentityRefusals } from './aws-facts.ts';
import type { EksCluster } from './aws-service-account.ts';

/** Where the ECS-style endpoint listens (`AWS_CONTAINER_CREDENTIALS_FULL_URI` names it). */
export const AWS_CREDENTIALS_PATH = '/aws/credentials';

/** What a container credentials endpoint hands out, and to whom. */
export interface ContainerState {
  credentials: CredentialIssuer;
  roleArn: string;
  now(): number;
  onIssued(): void;
}

/**
 * The ECS-style container credentials endpoint: the current credentials for the `Authorization` header
 * equal to `AWS_CONTAINER_AUTHORIZATION_TOKEN`.
 *
 * @example
 * import { startEmulator } from 'pg-passwordless-emulator';
 *
 * // What the SDK's fromHttp asks, here by hand of the emulator's endpoint.
 * const emulator = await startEmulator({ cloud: 'aws', backend: 'pglite' });
 * const { AWS_CONTAINER_CREDENTIALS_FULL_URI, AWS_CONTAINER_AUTHORIZATION_TOKEN } = emulator.env;
 * const headers = { Authorization: AWS_CONTAINER_AUTHORIZATION_TOKEN ?? '' };
 * const answer = await fetch(AWS_CONTAINER_CREDENTIALS_FULL_URI ?? '', { headers });
 * console.log(answer.status, Object.keys((await answer.json()) as object)); // 200 [ 'AccessKeyId', 'SecretAccessKey', 'Token', 'Expiration', 'RoleArn' ]
 * console.log((await fetch(AWS_CONTAINER_CREDENTIALS_FULL_URI ?? '')).status); // 401: no Authorization
 * await emulator.stop();
 */
export function containerRoute(state: ContainerState & { authorizationToken: string }): Route {
  return {
    method: 'GET',
    faulty: true,
    matches: (path) => path === AWS_CREDENTIALS_PATH,
    handle: (request) => {
      if (request.headers.authorization !== state.authorizationToken) {
        return {
          status: 401,
          body: {
            message:
              'Unauthorized: the Authorization header does not match AWS_CONTAINER_AUTHORIZATION_TOKEN.',
          },
        };
      }
      return { status: 200, body: { ...handOut(state), RoleArn: state.roleArn } };
    },
  };
}

/**
 * The EKS Pod Identity agent (`http://169.254.170.23/v1/credentials` in a cluster): the pod's
 * service-account token, read by the SDK from `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` at each request,
 * comes as the `Authorization` header; the agent's own checks, then EKS Auth's (this cluster's
 * signature, the audience `pods.eks.amazonaws.com`), each refused with the agent's plain-text answer.
 *
 * @example
 * import { startEmulator } from 'pg-passwordless-emulator';
 * const { readFileSync } = await import('node:fs');
 *
 * const emulator = await startEmulator({ cloud: 'aws', awsCredential: 'pod-identity', backend: 'pglite' });
 * const { AWS_CONTAINER_CREDENTIALS_FULL_URI, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE } = emulator.env;
 * const headers = { Authorization: readFileSync(AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE ?? '', 'utf8') };
 * const answer = await fetch(AWS_CONTAINER_CREDENTIALS_FULL_URI ?? '', { headers });
 * console.log(answer.status, ((await answer.json()) as { AccessKeyId: string }).AccessKeyId.startsWith('ASIA')); // 200 true
 * const refused = await fetch(AWS_CONTAINER_CREDENTIALS_FULL_URI ?? '');
 * console.log(refused.status, await refused.text()); // 400 Service account token cannot be empty
 * await emulator.stop();
 */
export function podIdentityRoute(state: ContainerState & { cluster: EksCluster }): Route {
  return {
    method: 'GET',
    faulty: true,
    matches: (path) => path === EKS_SERVICE_ACCOUNT_TOKEN.podIdentityPath,
    handle: async (request) => {
      const refusal = await podIdentityRefusal(state, request);
      if (refusal) return refusal;
      const { AccessKeyId, SecretAccessKey, Token, Expiration } = handOut(state);
      const account = state.roleArn.split(':')[4] ?? '';
      return { status: 200, body: { AccessKeyId, SecretAccessKey, Token, AccountId: account, Expiration } };
    },
  };
}

/** The agent's checks (present, a JWT, unexpired), then EKS Auth's (this cluster's, for the agent's audience). */
async function podIdentityRefusal(
  state: ContainerState & { cluster: EksCluster },
  request: IncomingMessage,
): Promise<RouteAnswer | undefined> {
  const token = request.headers.authorization ?? '';
  if (token === '') return agentError(podIdentityRefusals.empty);
  // The agent parses the token without checking its signature, and checks its times.
  let expiresAtSeconds: number | undefined;
  try {
    expiresAtSeconds = decodeJwt(token).exp;
  } catch {
    return agentError(podIdentityRefusals.unparsable);
  }
  if (expiresAtSeconds !== undefined && expiresAtSeconds * 1000 <= state.now())
    return agentError(podIdentityRefusals.expired);
  const verdict = await state.cluster.verifyToken(token);
  if (!verdict.ok || !verdict.claims.aud.includes(EKS_SERVICE_ACCOUNT_TOKEN.podIdentityAudience))
    return agentError(podIdentityRefusals.invalid(randomUUID()));
  return undefined;
}

/** As Go's http.Error writes it: the text and a newline, as plain text. */
function agentError(refusal: { status: number; text: string }): RouteAnswer {
  return {
    status: refusal.status,
    headers: { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' },
    body: `${refusal.text}\n`,
  };
}

/** The current credentials, renewed (like ECS) once they are within 15 minutes of expiry. */
function handOut(state: ContainerState) {
  let current = state.credentials.current();
  if (current.expiresAtMs - state.now() < 15 * 60_000) current = state.credentials.issue();
  state.onIssued();
  return {
    AccessKeyId: current.accessKeyId,
    SecretAccessKey: current.secretAccessKey,
    Token: current.sessionToken,
    Expiration: new Date(current.expiresAtMs).toISOString(),
  };
}
