import { quoteIdentifier } from 'pg-passwordless/wire';
import type { Backend } from '../backend.ts';
import { type LoginCheck, type LoginValidator, passwordFailed } from '../login-validator.ts';
import { parseRdsToken, verifyRdsToken } from '../sigv4-verify.ts';
import type { CredentialIssuer, IssuedCredentials } from './aws-credentials.ts';
import { RDS_IAM_TOKEN, rdsRefusal } from './aws-facts.ts';
import { type AwsIdentityControls, type AwsIdentityOptions, createAwsIdentity } from './aws-identity.ts';
import { type CloudContext, createLoginRole, type EmulatedCloud } from './cloud.ts';
import { type AwsDatabase, type DsqlOptions, playDsql } from './dsql.ts';

export interface AwsOptions extends AwsIdentityOptions {
  /** IAM database users (roles granted rds_iam). Default: `app_user`. */
  awsUsers?: string[];
  awsRegion?: string;
}

/** AWS-specific handles of a running emulator. */
export interface AwsControls extends AwsIdentityControls {
  region: string;
  users(): readonly string[];
  /** The credentials handed out last (for signing tokens in tests). */
  currentCredentials(): {
    accessKeyId: string;
    secretAccessKey: string;
    sessionToken: string;
    expiration: Date;
  };
}

/**
 * AWS: an identity endpoint for the SDK's default chain to run for real (ECS-style container credentials
 * by default, the EKS Pod Identity agent, or STS for IRSA: `awsCredential`), and the RDS IAM check:
 * a SigV4 presigned `connect` request for this endpoint, signed with credentials this emulator issued,
 * `DBUser` equal to the startup user, within its 15 minutes, for a role granted `rds_iam`. With
 * `awsService: 'dsql'`, Aurora DSQL's check instead (`playDsql`).
 *
 * @example
 * import { startEmulator } from 'pg-passwordless-emulator';
 *
 * // startEmulator({ cloud: 'aws' }) plays AWS with this: the credentials endpoint, the roles, the IAM check.
 * const emulator = await startEmulator({ cloud: 'aws', backend: 'pglite', awsUsers: ['app_user', 'bi'] });
 * console.log(emulator.aws?.region, emulator.env.PGUSER); // us-east-1 app_user
 * console.log(emulator.aws?.users()); // [ 'app_user', 'bi' ]
 * console.log(emulator.env.AWS_CONTAINER_CREDENTIALS_FULL_URI?.endsWith('/aws/credentials')); // true
 * await emulator.stop();
 */
export async function createAwsCloud(
  context: CloudContext,
  options: AwsOptions & DsqlOptions,
): Promise<EmulatedCloud & AwsControls> {
  const region = options.awsRegion ?? 'us-east-1';
  const users = options.awsUsers ?? ['app_user'];
  const identity = await createAwsIdentity(context, options, region);
  const { credentials } = identity;
  const database =
    options.awsService === 'dsql'
      ? await playDsql(context, { region, users, issuedFor: credentials.issuedFor }, options)
      : await playRds(context, { region, users, credentials });
  return {
    name: 'aws',
    region,
    routes: identity.routes,
    validator: database.validator,
    sessionCapMs: database.sessionCapMs,
    defaultUser: () => users[0] ?? '',
    clientEnv: (identityUrl) => ({
      ...identity.clientEnv(identityUrl),
      AWS_REGION: region,
      // Keep the SDK from probing the EC2 metadata service when the container endpoint fails.
      AWS_EC2_METADATA_DISABLED: 'true',
      PG_PASSWORDLESS_AWS_ENABLED: 'true',
      ...database.clientEnv,
    }),
    users: () => users,
    ...identity.controls,
    currentCredentials: () => {
      const { accessKeyId, secretAccessKey, sessionToken, expiresAtMs } = credentials.current();
      return { accessKeyId, secretAccessKey, sessionToken, expiration: new Date(expiresAtMs) };
    },
  };
}

/** RDS and Aurora PostgreSQL: the IAM database users, and RDS's IAM login check. */
async function playRds(
  context: CloudContext,
  server: { region: string; users: readonly string[]; credentials: CredentialIssuer },
): Promise<AwsDatabase> {
  await createIamUsers(context.backend, server.users);
  return { validator: rdsIamValidator(context, server), clientEnv: {} };
}

/** The IAM database users: roles granted rds_iam, as `CREATE USER ...; GRANT rds_iam TO ...` leaves them. */
async function createIamUsers(backend: Backend, users: readonly string[]): Promise<void> {
  await backend.adminSql(
    `DO $$ BEGIN CREATE ROLE rds_iam NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$`,
  );
  for (const user of users)
    await createLoginRole(backend, user, ` GRANT rds_iam TO ${quoteIdentifier(user)};`);
}

/**
 * RDS's IAM login check: a token signed with credentials this emulator issued (and still valid, with
 * their session token), for this region and this endpoint, `DBUser` equal to the startup user, within
 * 15 minutes of its signing whatever X-Amz-Expires says, for a role granted rds_iam.
 */
function rdsIamValidator(
  context: CloudContext,
  server: { region: string; users: readonly string[]; credentials: CredentialIssuer },
): LoginValidator {
  const check = async (user: string, password: string): Promise<LoginCheck> => {
    const failed: LoginCheck = { ok: false, sqlState: '28000', message: rdsRefusal(user) };
    if (!parseRdsToken(password)) return server.users.includes(user) ? failed : passwordFailed(user);
    const claims = verifyRdsToken(password, (keyId) => server.credentials.issuedFor(keyId)?.secretAccessKey);
    if (!claims) return failed;
    const credentials = server.credentials.issuedFor(claims.accessKeyId) as IssuedCredentials;
    const now = context.now();
    const valid =
      claims.region === server.region &&
      claims.sessionToken === credentials.sessionToken &&
      now < credentials.expiresAtMs &&
      now >= claims.signedAtMs - RDS_IAM_TOKEN.clockSkewMs &&
      now < Math.min(claims.expiresAtMs, claims.signedAtMs + RDS_IAM_TOKEN.lifetimeMs) &&
      claims.dbUser === user &&
      context.gatewayHostPorts().includes(claims.hostPort) &&
      server.users.includes(user);
    return valid ? { ok: true, role: user } : failed;
  };
  return { check };
}
