import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Route, RouteAnswer } from '../identity-server.ts';
import { type IdentitySelector, type ManagedIdentity, selectIdentity } from './azure-identities.ts';
import { issueAzureToken, type SigningKey } from './azure-tokens.ts';

export const APP_SERVICE_PATH = '/msi/token';
export const IMDS_PATH = '/metadata/identity/oauth2/token';
export const JWKS_PATH = '/.well-known/jwks.json';

export interface AzureIdentityState {
  key: SigningKey;
  tenantId: string;
  /** The `iss` of issued tokens (the v1 issuer of the tenant in the emulated cloud). */
  issuer: string;
  identitySecret: string;
  tokenLifetimeSeconds(): number;
  identities(): readonly ManagedIdentity[];
  now(): number;
  /** Called for every token issued (counters). */
  onIssued(identity: ManagedIdentity): void;
}

/**
 * The managed-identity endpoints `@azure/identity` talks to (through msal-node):
 * - App Service / Functions / Container Apps: `GET $IDENTITY_ENDPOINT?api-version=2019-08-01&resource=…`
 *   with header `X-IDENTITY-HEADER: $IDENTITY_HEADER`; ids as `client_id`, `mi_res_id`, `object_id`;
 * - IMDS: `GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=…` with `Metadata: true`
 *   (the SDK reaches it through `AZURE_POD_IDENTITY_AUTHORITY_HOST` and adds a trailing slash);
 * and the JWKS that the gateway (and anyone curious) verifies signatures with.
 *
 * @example
 * // What @azure/identity asks on App Service, here of the running emulator named by the environment.
 * const url = new URL(process.env.IDENTITY_ENDPOINT ?? '');
 * url.searchParams.set('api-version', '2019-08-01');
 * url.searchParams.set('resource', 'https://ossrdbms-aad.database.windows.net');
 * const response = await fetch(url, { headers: { 'X-IDENTITY-HEADER': process.env.IDENTITY_HEADER ?? '' } });
 * const { token_type, resource } = (await response.json()) as { token_type: string; resource: string };
 * console.log(url.pathname === APP_SERVICE_PATH, response.status, token_type, resource);
 * // true 200 Bearer https://ossrdbms-aad.database.windows.net
 * // The keys the gateway checks signatures with:
 * const jwks = (await (await fetch(new URL(JWKS_PATH, url))).json()) as { keys: Array<{ alg: string }> };
 * console.log(jwks.keys.map((key) => key.alg)); // [ 'RS256' ]
 */
export function azureIdentityRoutes(state: AzureIdentityState): Route[] {
  return [
    {
      method: 'GET',
      faulty: true,
      matches: (path) => path === APP_SERVICE_PATH,
      handle: (request, url) => appService(state, request, url),
    },
    {
      method: 'GET',
      faulty: true,
      matches: (path) => path === IMDS_PATH || path === `${IMDS_PATH}/`,
      handle: (request, url) => imds(state, request, url),
    },
    {
      method: 'GET',
      faulty: false,
      matches: (path) => path === JWKS_PATH,
      handle: () => ({ status: 200, body: { keys: [state.key.publicJwk] } }),
    },
  ];
}

async function appService(
  state: AzureIdentityState,
  request: IncomingMessage,
  url: URL,
): Promise<RouteAnswer> {
  const problem = (status: number, message: string) => ({
    status,
    body: { statusCode: status, message, correlationId: randomUUID() },
  });
  if (request.headers['x-identity-header'] !== state.identitySecret)
    return problem(401, 'Unauthorized request: the X-IDENTITY-HEADER header is missing or wrong.');
  if (url.searchParams.get('api-version') !== '2019-08-01')
    return problem(400, 'Invalid api-version: expected 2019-08-01.');
  const selector: IdentitySelector = {
    clientId: url.searchParams.get('client_id') ?? undefined,
    resourceId: url.searchParams.get('mi_res_id') ?? undefined,
    objectId: url.searchParams.get('object_id') ?? url.searchParams.get('principal_id') ?? undefined,
  };
  return tokenAnswer(
    state,
    url,
    selector,
    () => problem(400, 'No Managed Identity found for specified ClientId/ResourceId/PrincipalId.'),
    problem,
  );
}

async function imds(state: AzureIdentityState, request: IncomingMessage, url: URL): Promise<RouteAnswer> {
  const problem = (status: number, description: string) => ({
    status,
    body: { error: 'invalid_request', error_description: description },
  });
  if (request.headers.metadata !== 'true') return problem(400, 'Required metadata header not specified');
  const selector: IdentitySelector = {
    clientId: url.searchParams.get('client_id') ?? undefined,
    resourceId: url.searchParams.get('msi_res_id') ?? url.searchParams.get('mi_res_id') ?? undefined,
    objectId: url.searchParams.get('object_id') ?? undefined,
  };
  return tokenAnswer(state, url, selector, () => problem(400, 'Identity not found'), problem);
}

async function tokenAnswer(
  state: AzureIdentityState,
  url: URL,
  selector: IdentitySelector,
  notFound: () => RouteAnswer,
  problem: (status: number, message: string) => RouteAnswer,
): Promise<RouteAnswer> {
  const resource = url.searchParams.get('resource');
  if (!resource) return problem(400, 'Required query variable resource is missing');
  const identity = selectIdentity(state.identities(), selector);
  if (!identity) return notFound();
  const { token, expiresOnSeconds } = await issueAzureToken(state.key, {
    identity,
    resource,
    tenantId: state.tenantId,
    issuer: state.issuer,
    lifetimeSeconds: state.tokenLifetimeSeconds(),
    nowMs: state.now(),
  });
  state.onIssued(identity);
  return {
    status: 200,
    body: {
      access_token: token,
      // Unix seconds as a string, the form App Service and IMDS both use.
      expires_on: String(expiresOnSeconds),
      expires_in: String(state.tokenLifetimeSeconds()),
      resource,
      token_type: 'Bearer',
      client_id: identity.clientId,
    },
  };
}
