import type { IncomingMessage } from 'node:http';
import type { Route, RouteAnswer } from '../identity-server.ts';
import { DEFAULT_SCOPE } from './gcp-facts.ts';
import type { TokenStore } from './gcp-tokens.ts';

const METADATA_PREFIX = '/computeMetadata/v1';
const FLAVOR = { 'Metadata-Flavor': 'Google' };

/** What the metadata server knows of the instance it runs on. */
export interface MetadataInstance {
  projectId: string;
  /** The instance's service accounts; the first is its `default`. */
  serviceAccounts: readonly string[];
  tokens: TokenStore;
  lifetimeSeconds: () => number;
  /** Counts one token handed out. */
  onIssued: () => void;
}

/**
 * The metadata server's paths that google-auth-library reads (`GCE_METADATA_HOST`): the probe, project,
 * universe, accounts and tokens, each answered only to `Metadata-Flavor: Google` and always carrying it.
 *
 * @example
 * const routes = metadataRoutes({
 *   projectId: 'shop',
 *   serviceAccounts: ['orders@shop.iam.gserviceaccount.com'],
 *   tokens: { issue: () => 'ya29.opaque', lookUp: () => undefined },
 *   lifetimeSeconds: () => 3600,
 *   onIssued: () => {},
 * });
 * console.log(routes.some((route) => route.matches('/computeMetadata/v1/instance/service-accounts/default/token'))); // true
 */
export function metadataRoutes(instance: MetadataInstance): Route[] {
  const text = (body: string): RouteAnswer => ({ status: 200, body });
  const accountOf = (url: URL) => {
    const name = url.pathname.split('/')[5] ?? 'default';
    return name === 'default'
      ? instance.serviceAccounts[0]
      : instance.serviceAccounts.find((email) => email === name);
  };
  return [
    metadataRoute('/instance', false, () => text('attributes/\nhostname\nid\nservice-accounts/\nzone\n')),
    metadataRoute('/project/project-id', false, () => text(instance.projectId)),
    metadataRoute('/universe/universe-domain', false, () => text('googleapis.com')),
    metadataRoute('/instance/service-accounts/*/email', false, (url) => {
      const email = accountOf(url);
      return email ? text(email) : { status: 404, body: 'not found' };
    }),
    metadataRoute('/instance/service-accounts/*/token', true, (url) => {
      const email = accountOf(url);
      if (!email) return { status: 404, body: 'not found' };
      const scopes = (url.searchParams.get('scopes') ?? DEFAULT_SCOPE).split(',');
      const lifetimeSeconds = instance.lifetimeSeconds();
      instance.onIssued();
      const token = instance.tokens.issue(
        { serviceAccount: email, principal: email, scopes },
        lifetimeSeconds,
      );
      return {
        status: 200,
        body: { access_token: token, expires_in: lifetimeSeconds, token_type: 'Bearer' },
      };
    }),
  ];
}

/** One metadata path (`*` stands for one segment): answered only to requests with `Metadata-Flavor: Google`. */
function metadataRoute(path: string, faulty: boolean, handle: (url: URL) => RouteAnswer): Route {
  return {
    method: 'GET',
    faulty,
    alwaysHeaders: FLAVOR,
    matches: (candidate) =>
      candidate === `${METADATA_PREFIX}${path}` ||
      (path.includes('*') && new RegExp(`^${METADATA_PREFIX}${path.replace('*', '[^/]+')}$`).test(candidate)),
    handle: (request: IncomingMessage, url: URL) =>
      request.headers['metadata-flavor'] === 'Google'
        ? handle(url)
        : { status: 403, body: 'Missing required header: Metadata-Flavor: Google' },
  };
}
