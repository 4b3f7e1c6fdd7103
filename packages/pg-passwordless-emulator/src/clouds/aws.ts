import { randomBytes } from 'node:crypto';
import { quoteIdentifier } from 'pg-passwordless/wire';
import type { Backend } from '../backend.ts';
import type { Route } from '../identity-server.ts';
import { type LoginCheck, type LoginValidator, passwordFailed } from '../login-validator.ts';
import { parseRdsToken, verifyRdsToken } from '../sigv4-verify.ts';
import { RDS_IAM_TOKEN, rdsRefusal } from './aws-facts.ts';
import { type CloudContext, createLoginRole, type EmulatedCloud } from './cloud.ts';
import { type AwsDatabase, type DsqlOptions, playDsql } from './dsql.ts';

export const AWS_CREDENTIALS_PATH = '/aws/credentials';

export interface AwsOptions {
  /** IAM database users (roles granted rds_iam). Default: `app_user`. */
  awsUsers?: string[];
  awsRegion?: string;
  /** Lifetime of the container credentials handed out (default 6 h, as ECS task roles rotate). */
  awsCredentialLifetimeSeconds?: number;
}

interface IssuedCredentials {
  secretAccessKey: string;
  sessionToken: string;
  expiresAtMs: number;
}

/** AWS-specific handles of a running emulator. */
export interface AwsControls {
  region: string;
  users(): readonly string[];
  /** The credentials the container endpoint hands out now (for signing tokens in tests). */
  currentCredentials(): {
    accessKeyId: string;
    secretAccessKey: string;
    sessionToken: string;
    expiration: Date;
  };
}

/**
 * AWS: the ECS/EKS container-credentials endpoint (`AWS_CONTAINER_CREDENTIALS_FULL_URI` +
 * `AWS_CONTAINER_AUTHORIZATION_TOKEN`) so the SDK's default chain runs for real, and the RDS IAM check:
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
  const authorizationToken = randomBytes(24).toString('hex');
  const credentials = createCredentialIssuer(
    context,
    (options.awsCredentialLifetimeSeconds ?? 6 * 3600) * 1000,
  );
  const database =
    options.awsService === 'dsql'
      ? await playDsql(context, { region, users, issuedFor: credentials.issuedFor }, options)
      : await playRds(context, { region, users, credentials });
  return {
    name: 'aws',
    region,
    routes: [credentialsRoute(context, credentials, authorizationToken)],
    validator: database.validator,
    sessionCapMs: database.sessionCapMs,
    defaultUser: () => users[0] ?? '',
    clientEnv: (identityUrl) => ({
      AWS_CONTAINER_CREDENTIALS_FULL_URI: `${identityUrl}${AWS_CREDENTIALS_PATH}`,
      AWS_CONTAINER_AUTHORIZATION_TOKEN: authorizationToken,
      AWS_REGION: region,
      // Keep the SDK from probing the EC2 metadata service when the container endpoint fails.
      AWS_EC2_METADATA_DISABLED: 'true',
      PG_PASSWORDLESS_AWS_ENABLED: 'true',
      ...database.clientEnv,
    }),
    users: () => users,
    currentCredentials: () => {
      const { accessKeyId, secretAccessKey, sessionToken, expiresAtMs } = credentials.current();
      return { accessKeyId, secretAccessKey, sessionToken, expiration: new Date(expiresAtMs) };
    },
  };
}

/** The credentials this emulator has handed out (by access key id), and the current set. */
interface CredentialIssuer {
  current(): { accessKeyId: string } & IssuedCredentials;
  /** Replaces the current set with a fresh one; earlier ones stay valid until they expire. */
  rotate(): void;
  issuedFor(accessKeyId: string): IssuedCredentials | undefined;
}

function createCredentialIssuer(context: CloudContext, lifetimeMs: number): CredentialIssuer {
  const issued = new Map<string, IssuedCredentials>();
  let current: { accessKeyId: string } & IssuedCredentials;
  const rotate = () => {
    const accessKeyId = `ASIA${randomBytes(8).toString('hex').toUpperCase()}`;
    current = {
      accessKeyId,
      secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: randomBytes(64).toString('base64'),
      expiresAtMs: context.now() + lifetimeMs,
    };
    issued.set(accessKeyId, current);
  };
  rotate();
  return { current: () => current, rotate, issuedFor: (accessKeyId) => issued.get(accessKeyId) };
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

/** The ECS/EKS container-credentials endpoint: the current credentials for the right Authorization header. */
function credentialsRoute(
  context: CloudContext,
  credentials: CredentialIssuer,
  authorizationToken: string,
): Route {
  return {
    method: 'GET',
    faulty: true,
    matches: (path) => path === AWS_CREDENTIALS_PATH,
    handle: (request) => {
      if (request.headers.authorization !== authorizationToken) {
        return {
          status: 401,
          body: {
            message:
              'Unauthorized: the Authorization header does not match AWS_CONTAINER_AUTHORIZATION_TOKEN.',
          },
        };
      }
      // Like ECS, hand out fresh credentials once the current ones are within 15 minutes of expiry.
      if (credentials.current().expiresAtMs - context.now() < 15 * 60_000) credentials.rotate();
      context.onIssued();
      const current = credentials.current();
      return {
        status: 200,
        body: {
          AccessKeyId: current.accessKeyId,
          SecretAccessKey: current.secretAccessKey,
          Token: current.sessionToken,
          Expiration: new Date(current.expiresAtMs).toISOString(),
          RoleArn: 'arn:aws:iam::000000000000:role/pg-passwordless-emulator',
        },
      };
    },
  };
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
