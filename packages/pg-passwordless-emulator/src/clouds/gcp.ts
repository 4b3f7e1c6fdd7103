import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Route, RouteAnswer } from '../identity-server.ts';
import { type LoginCheck, type LoginValidator, passwordFailed } from '../login-validator.ts';
import { type CloudContext, createLoginRole, type EmulatedCloud } from './cloud.ts';
import {
  cloudSqlRefusal,
  DEFAULT_SCOPE,
  DEFAULT_TOKEN_LIFETIME_SECONDS,
  databaseUserOf,
  LOGIN_SCOPE,
} from './gcp-facts.ts';

const METADATA_PREFIX = '/computeMetadata/v1';
const FLAVOR = { 'Metadata-Flavor': 'Google' };

export interface GcpOptions {
  /** Service accounts; the first is the instance's default. Default: `orders@pg-passwordless-emulator.iam.gserviceaccount.com`. */
  gcpServiceAccounts?: string[];
  gcpProjectId?: string;
}

interface IssuedToken {
  email: string;
  scopes: string[];
  expiresAtMs: number;
}

/** GCP-specific handles of a running emulator. */
export interface GcpControls {
  projectId: string;
  serviceAccounts(): readonly string[];
  /** Issues an access token directly (tests). */
  issueToken(email: string, options?: { scopes?: string[]; lifetimeSeconds?: number }): string;
}

/**
 * GCP: a metadata server (`GCE_METADATA_HOST`; `Metadata-Flavor: Google` on every answer) issuing
 * access tokens for the instance's service accounts, and Cloud SQL's IAM login check: a token this
 * emulator issued, unexpired, with the sqlservice.login scope, for the user named after the service
 * account (its email without `.gserviceaccount.com`).
 *
 * @example
 * import { startEmulator } from 'pg-passwordless-emulator';
 *
 * // startEmulator({ cloud: 'gcp' }) plays GCP with this: the metadata server, users, Cloud SQL's IAM check.
 * const emulator = await startEmulator({
 *   cloud: 'gcp',
 *   backend: 'pglite',
 *   gcpServiceAccounts: ['orders@shop.iam.gserviceaccount.com'],
 * });
 * console.log(emulator.env.PGUSER, emulator.gcp?.projectId); // orders@shop.iam pg-passwordless-emulator
 * await emulator.stop();
 */
export async function createGcpCloud(
  context: CloudContext,
  options: GcpOptions,
): Promise<EmulatedCloud & GcpControls> {
  const projectId = options.gcpProjectId ?? 'pg-passwordless-emulator';
  const serviceAccounts = options.gcpServiceAccounts ?? [`orders@${projectId}.iam.gserviceaccount.com`];
  for (const email of serviceAccounts) await createLoginRole(context.backend, databaseUserOf(email));
  const lifetimeSeconds = () => context.tokenLifetimeSeconds() ?? DEFAULT_TOKEN_LIFETIME_SECONDS;
  const tokens = createTokenStore(context.now, lifetimeSeconds);
  return {
    name: 'gcp',
    projectId,
    routes: metadataRoutes(context, { projectId, serviceAccounts, tokens, lifetimeSeconds }),
    validator: cloudSqlIamValidator(context, tokens),
    defaultUser: () => databaseUserOf(serviceAccounts[0] ?? ''),
    clientEnv: (identityUrl) => ({
      GCE_METADATA_HOST: identityUrl.replace(/^http:\/\//, ''),
      METADATA_SERVER_DETECTION: 'assume-present',
      GOOGLE_CLOUD_PROJECT: projectId,
      PG_PASSWORDLESS_GCP_ENABLED: 'true',
    }),
    serviceAccounts: () => serviceAccounts,
    issueToken: (email, issue = {}) =>
      tokens.issue(email, issue.scopes ?? [LOGIN_SCOPE], issue.lifetimeSeconds),
  };
}

/** The access tokens this emulator issued: opaque `ya29.` strings, remembered with their account and scopes. */
interface TokenStore {
  issue(email: string, scopes: string[], lifetimeSeconds?: number): string;
  lookUp(token: string): IssuedToken | undefined;
}

function createTokenStore(now: () => number, defaultLifetimeSeconds: () => number): TokenStore {
  const tokens = new Map<string, IssuedToken>();
  return {
    issue: (email, scopes, lifetimeSeconds = defaultLifetimeSeconds()) => {
      const token = `ya29.${randomBytes(96).toString('base64url')}`;
      tokens.set(token, { email, scopes, expiresAtMs: now() + lifetimeSeconds * 1000 });
      return token;
    },
    lookUp: (token) => tokens.get(token),
  };
}

/** The metadata server's paths that google-auth-library reads: the probe, project, universe, accounts and tokens. */
function metadataRoutes(
  context: CloudContext,
  instance: {
    projectId: string;
    serviceAccounts: readonly string[];
    tokens: TokenStore;
    lifetimeSeconds: () => number;
  },
): Route[] {
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
      context.onIssued();
      return {
        status: 200,
        body: {
          access_token: instance.tokens.issue(email, scopes, lifetimeSeconds),
          expires_in: lifetimeSeconds,
          token_type: 'Bearer',
        },
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

/**
 * Cloud SQL's IAM login check: a token this emulator issued, unexpired, with the login scope, whose
 * account's database user is the startup user.
 */
function cloudSqlIamValidator(context: CloudContext, tokens: TokenStore): LoginValidator {
  const check = async (user: string, password: string): Promise<LoginCheck> => {
    if (!password.startsWith('ya29.')) return passwordFailed(user);
    const failed: LoginCheck = { ok: false, sqlState: '28000', message: cloudSqlRefusal(user) };
    const issued = tokens.lookUp(password);
    if (!issued || context.now() >= issued.expiresAtMs || !issued.scopes.includes(LOGIN_SCOPE)) return failed;
    return databaseUserOf(issued.email) === user ? { ok: true, role: user } : failed;
  };
  return { check };
}
