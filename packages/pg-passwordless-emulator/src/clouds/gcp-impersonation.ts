import type { IncomingMessage } from 'node:http';
import type { Route, RouteAnswer } from '../identity-server.ts';
import { readRequestBody } from '../identity-server.ts';
import { CLOUD_PLATFORM_SCOPE } from './gcp-facts.ts';
import { googleHttpsRoute } from './gcp-https-route.ts';
import {
  GENERATE_ACCESS_TOKEN_PATH,
  type GoogleApiRefusal,
  MAX_GENERATED_TOKEN_LIFETIME_SECONDS,
  IAM_CREDENTIALS_REFUSALS as REFUSED,
} from './gcp-oauth-facts.ts';
import { isUsable, type TokenStore } from './gcp-tokens.ts';

/** The scopes a caller's token needs for generateAccessToken (the SDK's own comment: iam or cloud-platform). */
const CALLER_SCOPES = ['https://www.googleapis.com/auth/iam', CLOUD_PLATFORM_SCOPE];

/** Who may impersonate whom: the IAM policy of each service account, as far as the emulator keeps one. */
export interface ImpersonationState {
  /** Whether `principal` holds `iam.serviceAccounts.getAccessToken` on the account (workloadIdentityUser). */
  mayImpersonate(principal: string, serviceAccount: string): boolean;
  tokens: TokenStore;
  now: () => number;
  /** The lifetime the emulator was told to give tokens, if any (else the request's `lifetime`). */
  lifetimeSeconds: () => number | undefined;
  onIssued: () => void;
}

/**
 * IAM Credentials `generateAccessToken`: with a bearer token of a principal allowed to impersonate the
 * account, an access token of the account for the scopes asked (`{ accessToken, expireTime }`); else 401
 * or 403 as Google answers them.
 *
 * @example
 * const routes = generateAccessTokenRoutes({
 *   mayImpersonate: () => true,
 *   tokens: { issue: () => 'ya29.opaque', lookUp: () => undefined },
 *   now: Date.now,
 *   lifetimeSeconds: () => undefined,
 *   onIssued: () => {},
 * });
 * console.log(routes[0]?.matches('/v1/projects/-/serviceAccounts/orders@shop.iam.gserviceaccount.com:generateAccessToken')); // true
 */
export function generateAccessTokenRoutes(state: ImpersonationState): Route[] {
  return [
    googleHttpsRoute(
      (path) => GENERATE_ACCESS_TOKEN_PATH.test(path),
      async (request, addressed): Promise<RouteAnswer> => {
        const serviceAccount = decodeURIComponent(
          GENERATE_ACCESS_TOKEN_PATH.exec(addressed.pathname)?.[1] ?? '',
        );
        const caller = state.tokens.lookUp(bearerOf(request));
        if (!caller || !isUsable(caller, state.now(), CALLER_SCOPES))
          return googleError(REFUSED.unauthenticated);
        if (!state.mayImpersonate(caller.principal, serviceAccount)) return googleError(REFUSED.denied);
        const asked = await readRequest(request);
        if ('error' in asked) return asked.error;
        const lifetimeSeconds = state.lifetimeSeconds() ?? asked.lifetimeSeconds;
        state.onIssued();
        const accessToken = state.tokens.issue(
          { serviceAccount, principal: serviceAccount, scopes: asked.scopes },
          lifetimeSeconds,
        );
        const expireTime = new Date(state.now() + lifetimeSeconds * 1000).toISOString();
        return { status: 200, body: { accessToken, expireTime } };
      },
    ),
  ];
}

function bearerOf(request: IncomingMessage): string {
  const header = request.headers.authorization ?? '';
  return header.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
}

/**
 * The request body: `scope` (required) and `lifetime` ("3600s" by default, at most an hour). Google
 * documents no wording for a bad one: the emulator's own, as `INVALID_ARGUMENT`.
 */
async function readRequest(
  request: IncomingMessage,
): Promise<{ scopes: string[]; lifetimeSeconds: number } | { error: RouteAnswer }> {
  let body: { scope?: unknown; lifetime?: unknown };
  try {
    body = JSON.parse(await readRequestBody(request)) as typeof body;
  } catch {
    body = {};
  }
  const scopes = Array.isArray(body.scope) ? body.scope.filter((one) => typeof one === 'string') : [];
  const lifetime = /^(\d+)s$/.exec(typeof body.lifetime === 'string' ? body.lifetime : '3600s');
  const lifetimeSeconds = Number(lifetime?.[1] ?? Number.NaN);
  if (
    scopes.length === 0 ||
    !(lifetimeSeconds > 0 && lifetimeSeconds <= MAX_GENERATED_TOKEN_LIFETIME_SECONDS)
  ) {
    const message = `scope must list at least one scope, and lifetime be "<seconds>s" up to ${MAX_GENERATED_TOKEN_LIFETIME_SECONDS}s (emulator wording).`;
    return {
      error: googleError({
        status: 400,
        body: { error: { code: 400, message, status: 'INVALID_ARGUMENT' } },
      }),
    };
  }
  return { scopes, lifetimeSeconds };
}

function googleError(refusal: GoogleApiRefusal): RouteAnswer {
  return { status: refusal.status, body: refusal.body };
}
