import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { type Route, type RouteAnswer, readRequestBody } from '../identity-server.ts';
import { authenticateClient, type EntraClient } from './azure-client-auth.ts';
import { ENTRA_TOKEN_REFUSALS, ENTRA_V2, type EntraRefusal } from './azure-facts.ts';
import { issueAzureToken, type SigningKey } from './azure-tokens.ts';
import type { WorkloadCluster } from './azure-workload-identity.ts';

export interface EntraAuthorityState {
  key: SigningKey;
  tenantId: string;
  /** The `iss` of issued access tokens (the tenant's v1 issuer in the emulated cloud). */
  issuer: string;
  /** The host of the emulated cloud's authority, for the `error_uri` of refusals. */
  authorityHost: string;
  clients(): readonly EntraClient[];
  cluster?: WorkloadCluster;
  tokenLifetimeSeconds(): number;
  now(): number;
  /** Called for every token issued (counters). */
  onIssued(): void;
}

const TENANT_PATH = {
  metadata: /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/,
  keys: /^\/([^/]+)\/discovery\/v2\.0\/keys$/,
  token: /^\/([^/]+)\/oauth2\/v2\.0\/token$/,
};

/**
 * The Entra authority, served over HTTPS (`AZURE_AUTHORITY_HOST`): the tenant's OpenID metadata that
 * MSAL reads first, its signing keys, and the v2 token endpoint of the client credentials grant, which
 * takes a client secret, a certificate assertion, or a workload identity's federated token, and answers
 * with the access token the database checks, or with Entra's AADSTS refusal.
 *
 * @example
 * import { startEmulator } from 'pg-passwordless-emulator';
 *
 * // What MSAL asks first, of an emulator playing a service principal (its CA trusted here by hand).
 * const { get } = await import('node:https');
 * const { readFileSync } = await import('node:fs');
 * const emulator = await startEmulator({ backend: 'pglite', azureCredential: 'service-principal' });
 * const { AZURE_AUTHORITY_HOST, AZURE_TENANT_ID } = emulator.env;
 * const url = `${AZURE_AUTHORITY_HOST}/${AZURE_TENANT_ID}/v2.0/.well-known/openid-configuration`;
 * const body = await new Promise<string>((resolve, reject) => {
 *   get(url, { ca: readFileSync(emulator.caPath) }, (response) => {
 *     let text = '';
 *     response.on('data', (chunk) => (text += chunk)).on('end', () => resolve(text));
 *   }).on('error', reject);
 * });
 * console.log(JSON.parse(body).token_endpoint === `${AZURE_AUTHORITY_HOST}/${AZURE_TENANT_ID}/oauth2/v2.0/token`); // true
 * await emulator.stop();
 */
export function entraAuthorityRoutes(state: EntraAuthorityState): Route[] {
  return [
    {
      method: 'GET',
      secure: true,
      faulty: false,
      matches: (path) => TENANT_PATH.metadata.test(path),
      handle: (request, url) => metadata(state, request, tenantIn(url, TENANT_PATH.metadata)),
    },
    {
      method: 'GET',
      secure: true,
      faulty: false,
      matches: (path) => TENANT_PATH.keys.test(path),
      handle: () => ({ status: 200, body: { keys: [state.key.publicJwk] } }),
    },
    {
      method: 'POST',
      secure: true,
      faulty: true,
      matches: (path) => TENANT_PATH.token.test(path),
      handle: (request, url) => token(state, request, tenantIn(url, TENANT_PATH.token)),
    },
  ];
}

function tenantIn(url: URL, pattern: RegExp): string {
  return decodeURIComponent(pattern.exec(url.pathname)?.[1] ?? '');
}

function originOf(request: IncomingMessage): string {
  return `https://${request.headers.host ?? 'localhost'}`;
}

/** The tenant's OpenID metadata; an unknown tenant gets Entra's `invalid_tenant`. */
function metadata(state: EntraAuthorityState, request: IncomingMessage, tenant: string): RouteAnswer {
  if (tenant.toLowerCase() !== state.tenantId.toLowerCase())
    return refused(state, request, ENTRA_TOKEN_REFUSALS.unknownTenant(tenant, 'invalid_tenant'));
  const origin = originOf(request);
  return {
    status: 200,
    body: {
      token_endpoint: `${origin}${ENTRA_V2.tokenPath(tenant)}`,
      authorization_endpoint: `${origin}${ENTRA_V2.authorizePath(tenant)}`,
      jwks_uri: `${origin}${ENTRA_V2.keysPath(tenant)}`,
      // Of the authority's own scheme and host, as MSAL may check (msal-common validateIssuer).
      issuer: `${origin}/${state.tenantId}/v2.0`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      tenant_region_scope: null,
    },
  };
}

async function token(
  state: EntraAuthorityState,
  request: IncomingMessage,
  tenant: string,
): Promise<RouteAnswer> {
  if (tenant.toLowerCase() !== state.tenantId.toLowerCase())
    return refused(state, request, ENTRA_TOKEN_REFUSALS.unknownTenant(tenant, 'invalid_request'));
  const form = new URLSearchParams(await readRequestBody(request));
  const tokenUrl = `${originOf(request)}${ENTRA_V2.tokenPath(tenant)}`;
  const nowMs = state.now();
  const outcome = await authenticateClient(form, {
    clients: state.clients,
    cluster: state.cluster,
    tokenUrl,
    nowMs,
  });
  if ('refusal' in outcome) return refused(state, request, outcome.refusal);
  const lifetimeSeconds = state.tokenLifetimeSeconds();
  const issued = await issueAzureToken(state.key, {
    identity: outcome.client.principal,
    resource: outcome.resource,
    tenantId: state.tenantId,
    issuer: state.issuer,
    lifetimeSeconds,
    nowMs,
  });
  state.onIssued();
  return {
    status: 200,
    body: {
      token_type: 'Bearer',
      expires_in: lifetimeSeconds,
      ext_expires_in: lifetimeSeconds,
      access_token: issued.token,
    },
  };
}

/** Entra's error body: the AADSTS text with its trace lines, the codes, and the ids (the client's request id as correlation id). */
function refused(state: EntraAuthorityState, request: IncomingMessage, refusal: EntraRefusal): RouteAnswer {
  const traceId = randomUUID();
  const header = request.headers['client-request-id'];
  const correlationId = typeof header === 'string' && header ? header : randomUUID();
  const timestamp = new Date(state.now())
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
  return {
    status: refusal.status,
    body: {
      error: refusal.error,
      error_description: `${refusal.description}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${timestamp}`,
      error_codes: [refusal.code],
      timestamp,
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `https://${state.authorityHost}/error?code=${refusal.code}`,
    },
  };
}
