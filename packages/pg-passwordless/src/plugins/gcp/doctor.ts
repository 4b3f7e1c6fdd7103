import type { CloudDoctor, LoginContext, TokenFacts } from '../../core/doctor-hooks.ts';
import { describeGcpCredential } from './credential-chain.ts';
import type { GcpSettings } from './options.ts';
import { iamDatabaseUserOf } from './role.ts';

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

/**
 * The refused-login texts, as users report them: Cloud SQL's `Cloud SQL IAM service account
 * authentication failed for user "..."` (GoogleCloudPlatform/cloud-sql-jdbc-socket-factory#727) and
 * AlloyDB's `AlloyDB IAM user authentication failed for user ...` (GoogleCloudPlatform/
 * alloydb-auth-proxy#384).
 */
const REFUSED = /(Cloud SQL|AlloyDB) IAM (service account|user) authentication failed/i;

/** How to make the IAM user, and what its principal needs, per service. */
const SETUP = {
  'Cloud SQL': {
    create: (user: string) =>
      `gcloud sql users create ${user} --instance=<instance> --type=cloud_iam_service_account`,
    needs:
      'roles/cloudsql.instanceUser for the account, the sqlservice.login scope, and cloudsql.iam_authentication=on',
  },
  AlloyDB: {
    create: (user: string) =>
      `gcloud alloydb users create ${user} --cluster=<cluster> --region=<region> --type=IAM_BASED`,
    needs:
      'roles/alloydb.databaseUser and roles/serviceusage.serviceUsageConsumer for the account, the alloydb.login (or cloud-platform) scope, and alloydb.iam_authentication=on',
  },
};

type ServiceTitle = keyof typeof SETUP;

/** The service the server's words name, else the one the connection was set up for. */
function serviceOf(context: LoginContext, said?: string): ServiceTitle {
  if (said) return /alloydb/i.test(said) ? 'AlloyDB' : 'Cloud SQL';
  return context.facts.service === 'AlloyDB' ? 'AlloyDB' : 'Cloud SQL';
}

/** What to do about a refused IAM login: ask for the right service's token, log in as the right user, or set the user up. */
function refusalHint(service: ServiceTitle, context: LoginContext, rightUser: string | undefined): string {
  const askedFor = serviceOf(context);
  if (askedFor !== service) {
    const name = service === 'AlloyDB' ? 'alloydb' : 'cloudsql';
    return `The server is ${service}, but the token was asked for ${askedFor} (scope ${context.facts.scope ?? '?'}): set PG_PASSWORDLESS_GCP_SERVICE=${name} (gcp.service in code).`;
  }
  if (rightUser) {
    return `Log in as "${rightUser}" (the service account's email without .gserviceaccount.com), or use that account's credentials.`;
  }
  return `Create the user (${SETUP[service].create(context.user)}) and give it ${SETUP[service].needs}.`;
}

/** What the doctor asks of the GCP cloud. */
export const gcpDoctor: CloudDoctor<GcpSettings> = {
  describeCredential: describeGcpCredential,
  readToken: readGoogleToken,
  explainRefusal: ({ message, said }, context) => {
    const words = REFUSED.exec(message)?.[1];
    if (!words) return undefined;
    const { user, facts } = context;
    const service = serviceOf(context, words);
    const account = facts.serviceAccount;
    const expected = account ? iamDatabaseUserOf(account) : undefined;
    const mismatch = expected !== undefined && expected !== user;
    return {
      code: service === 'AlloyDB' ? 'ALLOYDB_IAM_FAILED' : 'CLOUD_SQL_IAM_FAILED',
      detail: `${said}${mismatch ? `; the token belongs to ${account}, whose database user is "${expected}", not "${user}"` : ''}`,
      hint: refusalHint(service, context, mismatch ? expected : undefined),
    };
  },
  roleMissingHint: (context) => `Create the IAM user: ${SETUP[serviceOf(context)].create(context.user)}`,
  caHint:
    'Cloud SQL: the instance’s server-ca.pem; AlloyDB: the cluster CA (caCert of the AlloyDB API’s generateClientCertificate)',
};
