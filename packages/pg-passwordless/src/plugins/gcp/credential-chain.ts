import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Env } from '../../core/connection-url.ts';
import { credentialInCode } from '../../core/credential-chain.ts';
import type { CredentialContext, CredentialFinding } from '../../core/doctor-hooks.ts';
import {
  GOOGLE_TOKEN_URL,
  type GoogleCredentialFile,
  missingSubjectTokenHint,
  readGoogleCredentialFile,
} from './credential-file.ts';
import type { GcpSettings } from './options.ts';

/**
 * Which source of Google's Application Default Credentials will give the token here: a credentials file
 * (a service-account key, workload identity federation, a person's gcloud login), the gcloud login, the
 * metadata server. The file's type, account and endpoints are shown; its keys never are.
 *
 * @example
 * const finding = describeGcpCredential({ env: { GCE_METADATA_HOST: '127.0.0.1:41741' }, options: {}, fileExists: () => false });
 * console.log(finding.chosen); // metadata server at GCE_METADATA_HOST=127.0.0.1:41741
 */
export function describeGcpCredential(context: CredentialContext<GcpSettings>): CredentialFinding {
  if (context.options.auth) return credentialInCode(context.options.auth);
  const { env } = context;
  const exists = context.fileExists ?? existsSync;
  const keyFile = env.GOOGLE_APPLICATION_CREDENTIALS;
  if (keyFile) {
    if (!exists(keyFile)) {
      return {
        ok: false,
        chosen: `GOOGLE_APPLICATION_CREDENTIALS=${keyFile}, which does not exist`,
        skipped: [],
        hint: 'Point GOOGLE_APPLICATION_CREDENTIALS at the credentials JSON file, or unset it to use the metadata server.',
      };
    }
    return describeFile(keyFile, context);
  }
  const skipped = ['GOOGLE_APPLICATION_CREDENTIALS: not set'];
  const gcloudFile = join(
    env.CLOUDSDK_CONFIG || join(context.home ?? homedir(), '.config', 'gcloud'),
    'application_default_credentials.json',
  );
  if (exists(gcloudFile)) {
    return { ok: true, chosen: `gcloud application-default login (${gcloudFile})`, skipped };
  }
  skipped.push(`gcloud application-default login: no ${gcloudFile}`);
  return { ...describeMetadataServer(env), skipped };
}

function describeMetadataServer(env: Env): Omit<CredentialFinding, 'skipped'> {
  const host = env.GCE_METADATA_IP || env.GCE_METADATA_HOST;
  const detection = env.METADATA_SERVER_DETECTION
    ? `, METADATA_SERVER_DETECTION=${env.METADATA_SERVER_DETECTION}`
    : '';
  if (host) {
    const variable = env.GCE_METADATA_IP ? 'GCE_METADATA_IP' : 'GCE_METADATA_HOST';
    return { ok: true, chosen: `metadata server at ${variable}=${host}${detection}` };
  }
  return {
    ok: true,
    chosen: `metadata server at 169.254.169.254 (only GCE, GKE, Cloud Run and Cloud Functions answer)${detection}`,
    hint: 'Off GCP, run `gcloud auth application-default login`, set GOOGLE_APPLICATION_CREDENTIALS, or start `npx pg-passwordless-emulator --cloud gcp`.',
  };
}

/** A credentials file, by its type: whose identity, which endpoints, and what is missing. */
function describeFile(path: string, context: CredentialContext<GcpSettings>): CredentialFinding {
  const read = context.readFile ?? ((file: string) => readFileSync(file, 'utf8'));
  const file = readGoogleCredentialFile(path, read);
  const chosen = (what: string) => `GOOGLE_APPLICATION_CREDENTIALS=${path} (${what})`;
  if (!file) {
    return {
      ok: false,
      chosen: chosen('not readable as a JSON credentials file'),
      skipped: [],
      hint: 'Download the key again, or make the file with `gcloud iam workload-identity-pools create-cred-config`.',
    };
  }
  if (file.type === 'service_account')
    return { ok: true, chosen: chosen(describeKey(file, context.env)), skipped: [] };
  if (file.type === 'external_account') return describeExternalAccount(file, context, chosen);
  if (file.type === 'authorized_user') {
    return { ok: true, chosen: chosen('type authorized_user: the gcloud login of a person'), skipped: [] };
  }
  const account = file.account ? `, ${file.account}` : '';
  return { ok: true, chosen: chosen(`type ${file.type}${account}`), skipped: [] };
}

/**
 * A service-account key. google-auth-library reads no `token_uri`: its assertions go to Google's token
 * endpoint (through `HTTPS_PROXY` when one is set, as gaxios reads it), which the doctor says so a
 * file naming another endpoint is not trusted to be used.
 */
function describeKey(file: GoogleCredentialFile, env: Env): string {
  const parts = [`type service_account, ${file.account ?? 'no client_email'}`];
  const ignored =
    file.tokenUri && file.tokenUri !== GOOGLE_TOKEN_URL ? `, not the file's token_uri ${file.tokenUri}` : '';
  parts.push(`google-auth-library posts its assertions to ${GOOGLE_TOKEN_URL}${ignored}`);
  const proxy = env.HTTPS_PROXY || env.https_proxy;
  if (proxy) parts.push(`through HTTPS_PROXY=${withoutUserInfo(proxy)}`);
  return parts.join('; ');
}

function describeExternalAccount(
  file: GoogleCredentialFile,
  context: CredentialContext<GcpSettings>,
  chosen: (what: string) => string,
): CredentialFinding {
  const exists = context.fileExists ?? existsSync;
  const from = file.subjectTokenFile
    ? `the subject token in ${file.subjectTokenFile}`
    : `a subject token from ${file.subjectTokenSource ?? 'an unknown source'}`;
  const what = [
    `type external_account: workload identity federation, ${from} exchanged at ${file.tokenUrl ?? 'https://sts.googleapis.com/v1/token'}`,
    `for ${file.audience ?? 'no audience'}`,
    file.account ? `then impersonating ${file.account}` : 'impersonating no service account',
  ].join(' ');
  if (file.subjectTokenFile && !exists(file.subjectTokenFile)) {
    return {
      ok: false,
      chosen: chosen(`${what}; ${file.subjectTokenFile} does not exist`),
      skipped: [],
      hint: missingSubjectTokenHint(file),
    };
  }
  return {
    ok: true,
    chosen: chosen(what),
    skipped: [],
    ...(file.account
      ? {}
      : {
          hint: 'A federated token names no service account, so no database user follows from it: impersonate one (gcloud iam workload-identity-pools create-cred-config --service-account=...) and log in as its IAM user.',
        }),
  };
}

/** A proxy URL without the user and password it may carry. */
function withoutUserInfo(proxy: string): string {
  try {
    const url = new URL(proxy);
    url.username = '';
    url.password = '';
    return url.toString().replace(/\/$/, '');
  } catch {
    return '(not a URL)';
  }
}
