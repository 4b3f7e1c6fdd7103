import type { CloudDoctor, TokenFacts } from '../../core/doctor-hooks.ts';
import { describeGcpCredential } from './credential-chain.ts';
import type { GcpSettings } from './options.ts';
import { cloudSqlUserOf } from './role.ts';

/**
 * A Google OAuth2 access token is opaque (`ya29.`): only the expiry the token cache knows can be told.
 *
 * @example
 * console.log(readGoogleToken('ya29.opaque')?.summary); // a Google OAuth2 access token (opaque)
 */
export function readGoogleToken(token: string): TokenFacts | undefined {
  return token.startsWith('ya29.')
    ? { kind: 'opaque', summary: 'a Google OAuth2 access token (opaque)' }
    : undefined;
}

/** What the doctor asks of the GCP cloud. */
export const gcpDoctor: CloudDoctor<GcpSettings> = {
  describeCredential: describeGcpCredential,
  readToken: readGoogleToken,
  explainRefusal: ({ message, said }, { user, facts }) => {
    if (!/Cloud SQL IAM (service account|user) authentication failed/i.test(message)) return undefined;
    const account = facts.serviceAccount;
    const expected = account ? cloudSqlUserOf(account) : undefined;
    const mismatch = expected && expected !== user;
    return {
      code: 'CLOUD_SQL_IAM_FAILED',
      detail: `${said}${mismatch ? `; the token belongs to ${account}, whose database user is "${expected}", not "${user}"` : ''}`,
      hint: mismatch
        ? `Log in as "${expected}" (the service account's email without .gserviceaccount.com), or use that account's credentials.`
        : `Create the user (gcloud sql users create ${user} --type=cloud_iam_service_account), grant roles/cloudsql.instanceUser to the account, request the sqlservice.login scope, and set cloudsql.iam_authentication=on.`,
    };
  },
  roleMissingHint: ({ user }) =>
    `Create the IAM user: gcloud sql users create ${user} --instance=<instance> --type=cloud_iam_service_account`,
  caHint: 'Cloud SQL: the instance’s server-ca.pem',
};
