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
    create: (user: string) => `gcloud sql users create ${user} --instance=<instance> --type=cloud_iam_service_account`,
    needs: 'roles/cloudsql.instanceUser for the account, the sqlservice.login scope, and cloudsql.iam_authentication=on',
  },
  AlloyDB: {
    create: (user: string) =>
      `gcloud alloydb users create ${user} --cluster=<cluster> --region=<region> --type=IAM_BASED`,
    needs: 'roles/alloydb.databaseUser and roles/serviceusage.serviceUsageConsumer for the account, the alloydb.login (or cloud-platform) scope, and alloydb.iam_authentication=on',
  },
};

function setupOf(context: LoginContext) {
  return SETUP[context.facts.service === 'AlloyDB' ? 'AlloyDB' : 'Cloud SQL'];
}

/** What the doctor asks of the GCP cloud. */
export const gcpDoctor: CloudDoctor<GcpSettings> = {
  describeCredential: describeGcpCredential,
  readToken: readGoogleToken,
  explainRefusal: ({ message, said }, context) => {
    const service = REFUSED.exec(message)?.[1];
    if (!service) return undefined;
    const { user, facts } = context;
    const account = facts.serviceAccount;
    const expected = account ? iamDatabaseUserOf(account) : undefined;
    const mismatch = expected && expected !== user;
    const setup = setupOf(context);
    return {
      code: service.toLowerCase() === 'alloydb' ? 'ALLOYDB_IAM_FAILED' : 'CLOUD_SQL_IAM_FAILED',
      detail: `${said}${mismatch ? `; the token belongs to ${account}, whose database user is "${expected}", not "${user}"` : ''}`,
      hint: mismatch
        ? `Log in as "${expected}" (the service account's email without .gserviceaccount.com), or use that account's credentials.`
        : `Create the user (${setup.create(user)}) and give it ${setup.needs}.`,
    };
  },
  roleMissingHint: (context) => `Create the IAM user: ${setupOf(context).create(context.user)}`,
  caHint:
    'Cloud SQL: the instance’s server-ca.pem; AlloyDB: the cluster CA (caCert of the AlloyDB API’s generateClientCertificate)',
};
