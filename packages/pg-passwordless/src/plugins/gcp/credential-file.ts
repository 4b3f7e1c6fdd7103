import { readFileSync } from 'node:fs';

/**
 * Where google-auth-library posts a service-account key's assertions, whatever the file's `token_uri`
 * says: the `GOOGLE_TOKEN_URL` constant of its JWT client (10.x: build/src/gtoken/getToken.js).
 */
export const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';

/** What a credentials file says about the identity it holds; never its keys or tokens. */
export interface GoogleCredentialFile {
  path: string;
  /** `service_account`, `external_account`, `authorized_user`, `impersonated_service_account`, ... */
  type: string;
  /** The service account: a key's `client_email`, or the account an external account impersonates. */
  account?: string;
  /** service_account: the token endpoint the file names. */
  tokenUri?: string;
  /** external_account: the STS endpoint, the provider (`audience`), and where the subject token comes from. */
  tokenUrl?: string;
  audience?: string;
  subjectTokenFile?: string;
  subjectTokenSource?: string;
}

/**
 * Reads the parts of a credentials file that tell which identity it is and which endpoints it uses.
 * Undefined when the file is not a JSON object (the caller says so); the file's secrets stay unread.
 *
 * @example
 * const file = readGoogleCredentialFile('/etc/gcp/key.json', () =>
 *   JSON.stringify({ type: 'service_account', client_email: 'orders@shop.iam.gserviceaccount.com', token_uri: 'https://oauth2.googleapis.com/token' }),
 * );
 * console.log(file?.type, file?.account); // service_account orders@shop.iam.gserviceaccount.com
 */
export function readGoogleCredentialFile(
  path: string,
  read: (path: string) => string = (file) => readFileSync(file, 'utf8'),
): GoogleCredentialFile | undefined {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(read(path)) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return undefined;
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);
  const impersonation = text(json.service_account_impersonation_url);
  const source = (json.credential_source ?? {}) as Record<string, unknown>;
  return dropUndefined({
    path,
    type: text(json.type) ?? 'unknown',
    // The account an external account impersonates is named in the URL, as google-auth-library reads it.
    account:
      text(json.client_email) ??
      /serviceAccounts\/([^:/]+):generateAccessToken$/.exec(impersonation ?? '')?.[1],
    tokenUri: text(json.token_uri),
    tokenUrl: text(json.token_url),
    audience: text(json.audience),
    subjectTokenFile: text(source.file),
    subjectTokenSource: text(source.file) ? undefined : otherSubjectTokenSource(source),
  });
}

/** The subject token sources other than a file: a URL, an executable, AWS (`environment_id`). */
function otherSubjectTokenSource(source: Record<string, unknown>): string | undefined {
  if (typeof source.url === 'string') return `URL ${source.url}`;
  if (source.executable) return 'an executable';
  if (typeof source.environment_id === 'string') return `the ${source.environment_id} environment`;
  return undefined;
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, one]) => one !== undefined)) as T;
}

/**
 * What to do when the subject token file of an external account is missing: the platform writes it.
 *
 * @example
 * console.log(missingSubjectTokenHint({ path: '/etc/gcp/wif.json', type: 'external_account', subjectTokenFile: '/var/run/token' }));
 * // The platform writes the subject token (a projected Kubernetes service account token, a CI job's OIDC token): mount it at /var/run/token, or fix credential_source.file in /etc/gcp/wif.json.
 */
export function missingSubjectTokenHint(file: GoogleCredentialFile): string {
  return `The platform writes the subject token (a projected Kubernetes service account token, a CI job's OIDC token): mount it at ${file.subjectTokenFile ?? '(no file)'}, or fix credential_source.file in ${file.path}.`;
}
