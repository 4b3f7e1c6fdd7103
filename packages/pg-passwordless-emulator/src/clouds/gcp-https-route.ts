import type { IncomingMessage } from 'node:http';
import { type Route, type RouteAnswer, readRequestBody } from '../identity-server.ts';
import type { OAuthRefusal } from './gcp-oauth-facts.ts';

/**
 * A POST route of Google's OAuth endpoints: served on the HTTPS listener only (they exist nowhere else),
 * with faults applied as to every token endpoint. `handle` gets the URL the client addressed (the
 * tunnelled host or the emulator's own origin, from the Host header), which an assertion's audience must
 * name.
 *
 * @example
 * const route = googleHttpsRoute((path) => path === '/token', () => ({ status: 200, body: {} }));
 * console.log(route.method, route.secure, route.faulty, route.matches('/token')); // POST true true true
 */
export function googleHttpsRoute(
  matches: (path: string) => boolean,
  handle: (request: IncomingMessage, addressed: URL) => Promise<RouteAnswer> | RouteAnswer,
): Route {
  return {
    method: 'POST',
    secure: true,
    faulty: true,
    matches,
    handle: (request, url) =>
      handle(request, new URL(`${url.pathname}${url.search}`, `https://${request.headers.host ?? ''}`)),
  };
}

/**
 * The body of a form-encoded request (`application/x-www-form-urlencoded`), as OAuth token requests are.
 *
 * @example
 * const { Readable } = await import('node:stream');
 * const request = Readable.from([Buffer.from('grant_type=a&scope=b+c')]) as unknown as import('node:http').IncomingMessage;
 * console.log((await readForm(request)).get('scope')); // b c
 */
export async function readForm(request: IncomingMessage): Promise<URLSearchParams> {
  return new URLSearchParams(await readRequestBody(request));
}

/**
 * An OAuth error answer, as RFC 6749 section 5.2 shapes it.
 *
 * @example
 * console.log(oauthError({ status: 400, error: 'invalid_grant', description: 'Invalid JWT Signature.' }));
 * // { status: 400, body: { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' } }
 */
export function oauthError(refusal: OAuthRefusal): RouteAnswer {
  return { status: refusal.status, body: { error: refusal.error, error_description: refusal.description } };
}
