import { EmulatorError } from '../emulator-error.ts';
import { type CloudContext, createLoginRole, type EmulatedCloud } from './cloud.ts';
import {
  type ClientCredential,
  externalAccountCredential,
  type GcpCredential,
  keyFileCredential,
  metadataCredential,
} from './gcp-credentials.ts';
import {
  DATABASE_SERVICES,
  DEFAULT_TOKEN_LIFETIME_SECONDS,
  databaseUserOf,
  type GcpService,
} from './gcp-facts.ts';
import { metadataRoutes } from './gcp-metadata.ts';
import { createTokenStore } from './gcp-tokens.ts';
import { gcpIamValidator } from './gcp-validator.ts';

export type { GcpCredential } from './gcp-credentials.ts';
export type { GcpService } from './gcp-facts.ts';

export interface GcpOptions {
  /** Service accounts; the first is the instance's default. Default: `orders@pg-passwordless-emulator.iam.gserviceaccount.com`. */
  gcpServiceAccounts?: string[];
  gcpProjectId?: string;
  /**
   * How a client gets its credentials (default `metadata`): the metadata server (`GCE_METADATA_HOST`),
   * a service-account `key-file` (`GOOGLE_APPLICATION_CREDENTIALS`, its assertions posted to the
   * emulator's token endpoint), or an `external-account` file (workload identity federation: a subject
   * token exchanged at the emulator's STS, then the first service account impersonated).
   */
  gcpCredential?: GcpCredential;
  /** The database played: Cloud SQL (default) or AlloyDB, each with its login scopes and refusal text. */
  gcpService?: GcpService;
}

/** GCP-specific handles of a running emulator. */
export interface GcpControls {
  projectId: string;
  service: GcpService;
  credential: GcpCredential;
  serviceAccounts(): readonly string[];
  /** The file `GOOGLE_APPLICATION_CREDENTIALS` names (key-file, external-account). */
  credentialFile(): string | undefined;
  /** external-account: the subject token file the credential file names. */
  subjectTokenFile(): string | undefined;
  /** Issues an access token directly (tests); the login scope of the service unless told otherwise. */
  issueToken(email: string, options?: { scopes?: string[]; lifetimeSeconds?: number }): string;
  /**
   * external-account: writes a new subject token, as the platform rotating it does: for another
   * audience, or with a lifetime (negative: already expired).
   */
  writeSubjectToken(options?: { audience?: string; lifetimeSeconds?: number }): Promise<void>;
  /** key-file: deletes the key the file holds (`gcloud iam service-accounts keys delete`). */
  deleteKey(): void;
  /** external-account: grants or revokes the principal's `roles/iam.workloadIdentityUser` on the account. */
  allowImpersonation(allowed: boolean): void;
}

/**
 * GCP: the metadata server (`Metadata-Flavor: Google` on every answer), and with `gcpCredential` a
 * service-account key file or workload identity federation, all issuing access tokens for the project's
 * service accounts; and the IAM login check of Cloud SQL or AlloyDB (`gcpService`): a token this
 * emulator issued, unexpired, with the service's login scope, for the user named after the service
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
 * console.log(emulator.env.PGUSER, emulator.gcp?.projectId, emulator.gcp?.service); // orders@shop.iam pg-passwordless-emulator cloudsql
 * await emulator.stop();
 */
export async function createGcpCloud(
  context: CloudContext,
  options: GcpOptions,
): Promise<EmulatedCloud & GcpControls> {
  const service = choice('gcpService', options.gcpService, ['cloudsql', 'alloydb'] as const) ?? 'cloudsql';
  const kind =
    choice('gcpCredential', options.gcpCredential, ['metadata', 'key-file', 'external-account'] as const) ??
    'metadata';
  const projectId = options.gcpProjectId ?? 'pg-passwordless-emulator';
  const serviceAccounts = options.gcpServiceAccounts ?? [`orders@${projectId}.iam.gserviceaccount.com`];
  for (const email of serviceAccounts) await createLoginRole(context.backend, databaseUserOf(email));
  const lifetimeSeconds = () => context.tokenLifetimeSeconds() ?? DEFAULT_TOKEN_LIFETIME_SECONDS;
  const tokens = createTokenStore(context.now, lifetimeSeconds);
  const credential = await credentialOf(kind, {
    cloud: context,
    projectId,
    serviceAccount: serviceAccounts[0] ?? '',
    tokens,
    lifetimeSeconds,
  });
  const metadata = metadataRoutes({
    projectId,
    serviceAccounts,
    tokens,
    lifetimeSeconds,
    onIssued: context.onIssued,
  });
  const loginScopes = [...DATABASE_SERVICES[service].loginScopes];
  return {
    name: 'gcp',
    projectId,
    service,
    credential: credential.kind,
    routes: [...metadata, ...credential.routes],
    ...(credential.tunnelHosts ? { tunnelHosts: credential.tunnelHosts } : {}),
    ...(credential.started ? { started: credential.started } : {}),
    validator: gcpIamValidator(service, tokens, context.now),
    defaultUser: () => databaseUserOf(serviceAccounts[0] ?? ''),
    clientEnv: (identityUrl) => ({
      ...credential.env(identityUrl),
      PG_PASSWORDLESS_GCP_ENABLED: 'true',
      ...(service === 'alloydb' ? { PG_PASSWORDLESS_GCP_SERVICE: 'alloydb' } : {}),
    }),
    serviceAccounts: () => serviceAccounts,
    credentialFile: () => credential.file(),
    subjectTokenFile: () => credential.subjectTokenFile(),
    issueToken: (email, issue = {}) =>
      tokens.issue(
        { serviceAccount: email, principal: email, scopes: issue.scopes ?? loginScopes.slice(0, 1) },
        issue.lifetimeSeconds,
      ),
    writeSubjectToken: (claims) => credential.writeSubjectToken(claims),
    deleteKey: () => credential.deleteKey(),
    allowImpersonation: (allowed) => credential.allowImpersonation(allowed),
  };
}

function credentialOf(
  kind: GcpCredential,
  context: Parameters<typeof keyFileCredential>[0],
): ClientCredential | Promise<ClientCredential> {
  switch (kind) {
    case 'metadata':
      return metadataCredential(context.projectId);
    case 'key-file':
      return keyFileCredential(context);
    case 'external-account':
      return externalAccountCredential(context);
  }
}

/** An option that must be one of a few words, checked before anything starts. */
function choice<const T extends string>(
  name: string,
  value: string | undefined,
  allowed: readonly T[],
): T | undefined {
  if (value === undefined || (allowed as readonly string[]).includes(value)) return value as T | undefined;
  throw new EmulatorError(
    'CONFIG_INVALID',
    `${name} must be one of ${allowed.join(', ')}, not ${JSON.stringify(value)}.`,
    {
      hint: `Use ${allowed.map((one) => `'${one}'`).join(' or ')}.`,
    },
  );
}
