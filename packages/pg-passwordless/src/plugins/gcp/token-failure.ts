import type { GoogleCredentialFile } from './credential-file.ts';

/** What a Google endpoint said when it refused: the OAuth `error` (or API status) and its description. */
export interface GoogleRefusal {
  error: string;
  description: string;
}

/**
 * The refusal in a google-auth-library error: the OAuth answer of the token endpoint or STS
 * (`{ error, error_description }`), or a Google API's (`{ error: { status, message } }`, IAM Credentials),
 * found in the error's `response.data` or its causes.
 *
 * @example
 * const error = Object.assign(new Error('invalid_grant'), {
 *   response: { status: 400, data: { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' } },
 * });
 * console.log(googleRefusalOf(error)); // { error: 'invalid_grant', description: 'Invalid JWT Signature.' }
 */
export function googleRefusalOf(error: unknown): GoogleRefusal | undefined {
  for (let node = error, depth = 0; node && typeof node === 'object' && depth < 5; depth++) {
    const data = (node as { response?: { data?: unknown } }).response?.data as
      | Record<string, unknown>
      | undefined;
    if (data && typeof data === 'object') {
      if (typeof data.error === 'string') {
        return { error: data.error, description: String(data.error_description ?? '') };
      }
      const api = data.error as { status?: unknown; message?: unknown } | undefined;
      if (api && typeof api === 'object')
        return { error: String(api.status ?? ''), description: String(api.message ?? '') };
    }
    node = (node as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Each refusal the token endpoint, STS and IAM Credentials give, by its words, with what to do about it. */
const REMEDIES: Array<[RegExp, (file: GoogleCredentialFile | undefined) => string]> = [
  [
    /Invalid JWT Signature/,
    (file) =>
      `The key in ${file?.path ?? 'the key file'} is not a key of ${file?.account ?? 'its account'} (any more): it was deleted or the file was edited. Create a new key (gcloud iam service-accounts keys create) or move to workload identity federation.`,
  ],
  [
    /account not found/,
    (file) =>
      `The service account ${file?.account ?? ''} does not exist or is disabled: re-enable it (gcloud iam service-accounts enable) or use another account's key.`,
  ],
  [
    /Failed audience check/,
    () =>
      'The assertion names another token endpoint than the one it reached: google-auth-library signs it for https://oauth2.googleapis.com/token, so an endpoint at another URL (a token_uri, a proxy) refuses it.',
  ],
  [
    /short-lived token|reasonable timeframe/,
    () =>
      'The assertion is signed with this machine’s clock, which the token endpoint finds off by more than it allows: sync the clock (NTP: timedatectl set-ntp true, chronyd).',
  ],
  [
    /^invalid_scope:/,
    () =>
      'The token endpoint refused the scope: the library asks for the login scope of the service (sqlservice.login for Cloud SQL, alloydb.login for AlloyDB), which every service account may ask for.',
  ],
  [
    /The audience in ID Token/,
    (file) =>
      `The subject token${file?.subjectTokenFile ? ` in ${file.subjectTokenFile}` : ''} is for an audience the provider does not allow: issue it for https:${file?.audience ?? '//iam.googleapis.com/projects/.../providers/...'} (the provider's default), or add its audience to the provider's allowed audiences.`,
  ],
  [
    /stale to sign-in/,
    (file) =>
      `The subject token${file?.subjectTokenFile ? ` in ${file.subjectTokenFile}` : ''} has expired: whatever writes it (the kubelet's projected token, the CI job) must renew it before it expires; a copied token file stops working.`,
  ],
  [
    /target service indicated by the "audience"/,
    (file) =>
      `The workload identity pool or provider ${file?.audience ?? ''} does not exist or is disabled: check the audience in ${file?.path ?? 'the credentials file'} (gcloud iam workload-identity-pools providers describe).`,
  ],
  [
    /Invalid value for "audience"/,
    (file) =>
      `The audience in ${file?.path ?? 'the credentials file'} is not a provider's full name: //iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>.`,
  ],
  [
    /iam\.serviceAccounts\.getAccessToken/,
    (file) =>
      `The federated principal may not impersonate ${file?.account ?? 'the service account'}: grant it roles/iam.workloadIdentityUser on the account (gcloud iam service-accounts add-iam-policy-binding ... --role=roles/iam.workloadIdentityUser --member=principal://...).`,
  ],
];

/**
 * What to do about a refusal, when its words are known; undefined leaves the cloud's general hint.
 *
 * @example
 * console.log(remedyFor({ error: 'invalid_grant', description: 'ID Token issued at 1700000000 is stale to sign-in.' }, undefined)?.startsWith('The subject token has expired'));
 * // true
 */
export function remedyFor(
  refusal: GoogleRefusal,
  file: GoogleCredentialFile | undefined,
): string | undefined {
  const words = `${refusal.error}: ${refusal.description}`;
  return REMEDIES.find(([pattern]) => pattern.test(words))?.[1](file);
}

/** A JWT-shaped string: what a subject token or an assertion looks like. */
const JWT_LIKE = /eyJ[\w-]*\.[\w-]+\.[\w-]*/g;

/**
 * A copy of a google-auth-library error that keeps what tells the failure (message, name, code, HTTP
 * status, the answer's headers and OAuth error, gaxios's retry count, the causes) and drops the request:
 * gaxios redacts `assertion` and `grant_type` from a failed request it keeps in `config`, but not STS's
 * `subject_token`, which the error of a refused token exchange would otherwise carry to every log.
 *
 * @example
 * const sdkError = Object.assign(new Error('Error code invalid_grant'), {
 *   status: 400,
 *   config: { data: new URLSearchParams({ subject_token: 'eyJhbGciOiJSUzI1NiJ9.e30.c2ln' }) },
 * });
 * const safe = withoutRequest(sdkError) as Error & { status?: number; config?: unknown };
 * console.log(safe.message, safe.status, JSON.stringify(safe.config)); // Error code invalid_grant 400 {}
 */
export function withoutRequest(error: unknown, depth = 0): unknown {
  if (!(error instanceof Error) || depth > 4) return error;
  const source = error as Error & Record<string, unknown>;
  const copy = new Error(source.message.replace(JWT_LIKE, '[token]')) as Error & Record<string, unknown>;
  copy.name = source.name;
  copy.stack = (source.stack ?? '').replace(JWT_LIKE, '[token]');
  for (const field of ['code', 'status', 'errno', 'syscall'])
    if (source[field] !== undefined) copy[field] = source[field];
  const response = source.response as { status?: unknown; headers?: unknown; data?: unknown } | undefined;
  if (response && typeof response === 'object') {
    const refusal = googleRefusalOf(source);
    copy.response = {
      status: response.status,
      headers: response.headers,
      ...(refusal ? { data: refusalData(response.data) } : {}),
    };
  }
  const attempts = (source.config as { retryConfig?: { currentRetryAttempt?: unknown } } | undefined)
    ?.retryConfig?.currentRetryAttempt;
  copy.config = attempts === undefined ? {} : { retryConfig: { currentRetryAttempt: attempts } };
  if (source.cause !== undefined) copy.cause = withoutRequest(source.cause, depth + 1);
  return copy;
}

/** The error part of an answer's body only (its OAuth error or API status), never anything else it holds. */
function refusalData(data: unknown): unknown {
  const body = data as Record<string, unknown>;
  if (typeof body.error === 'string') return { error: body.error, error_description: body.error_description };
  const api = body.error as Record<string, unknown>;
  return { error: { code: api.code, status: api.status, message: api.message } };
}
