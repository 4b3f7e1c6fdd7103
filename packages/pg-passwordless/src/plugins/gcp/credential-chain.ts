import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { credentialInCode } from '../../core/credential-chain.ts';
import type { CredentialContext, CredentialFinding } from '../../core/doctor-hooks.ts';
import type { GcpSettings } from './options.ts';

/**
 * Which source of Google's Application Default Credentials will give the token here: a key file,
 * the gcloud login, the metadata server. The file's type and account are shown; its keys never are.
 *
 * @example
 * const finding = describeGcpCredential({ env: { GCE_METADATA_HOST: '127.0.0.1:41741' }, options: {}, fileExists: () => false });
 * console.log(finding.chosen); // metadata server at GCE_METADATA_HOST=127.0.0.1:41741
 */
export function describeGcpCredential(context: CredentialContext<GcpSettings>): CredentialFinding {
  if (context.options.auth) return credentialInCode(context.options.auth);
  const { env } = context;
  const exists = context.fileExists ?? existsSync;
  const read = context.readFile ?? ((path: string) => readFileSync(path, 'utf8'));
  const skipped: string[] = [];
  const keyFile = env.GOOGLE_APPLICATION_CREDENTIALS;
  if (keyFile) {
    if (!exists(keyFile)) {
      return {
        ok: false,
        chosen: `GOOGLE_APPLICATION_CREDENTIALS=${keyFile}, which does not exist`,
        skipped,
        hint: 'Point GOOGLE_APPLICATION_CREDENTIALS at the credentials JSON file, or unset it to use the metadata server.',
      };
    }
    // The type and the account's email only: the file's keys are never read out.
    let described = 'a credentials file';
    try {
      const json = JSON.parse(read(keyFile)) as { type?: unknown; client_email?: unknown };
      described = `type ${String(json.type ?? 'unknown')}${typeof json.client_email === 'string' ? `, ${json.client_email}` : ''}`;
    } catch {
      described = 'not readable as JSON';
    }
    return { ok: true, chosen: `GOOGLE_APPLICATION_CREDENTIALS=${keyFile} (${described})`, skipped };
  }
  skipped.push('GOOGLE_APPLICATION_CREDENTIALS: not set');
  const gcloudFile = join(
    env.CLOUDSDK_CONFIG || join(context.home ?? homedir(), '.config', 'gcloud'),
    'application_default_credentials.json',
  );
  if (exists(gcloudFile)) {
    return { ok: true, chosen: `gcloud application-default login (${gcloudFile})`, skipped };
  }
  skipped.push(`gcloud application-default login: no ${gcloudFile}`);
  const host = env.GCE_METADATA_IP || env.GCE_METADATA_HOST;
  const detection = env.METADATA_SERVER_DETECTION
    ? `, METADATA_SERVER_DETECTION=${env.METADATA_SERVER_DETECTION}`
    : '';
  if (host) {
    const variable = env.GCE_METADATA_IP ? 'GCE_METADATA_IP' : 'GCE_METADATA_HOST';
    return { ok: true, chosen: `metadata server at ${variable}=${host}${detection}`, skipped };
  }
  return {
    ok: true,
    chosen: `metadata server at 169.254.169.254 (only GCE, GKE, Cloud Run and Cloud Functions answer)${detection}`,
    skipped,
    hint: 'Off GCP, run `gcloud auth application-default login`, set GOOGLE_APPLICATION_CREDENTIALS, or start `npx pg-passwordless-emulator --cloud gcp`.',
  };
}
