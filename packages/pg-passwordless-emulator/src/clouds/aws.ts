import { randomBytes } from 'node:crypto';
import { quoteIdentifier } from 'pg-passwordless/wire';
import type { Route } from '../identity-server.ts';
import type { LoginCheck } from '../login-validator.ts';
import { passwordFailed } from '../login-validator.ts';
import { parseRdsToken, verifyRdsToken } from '../sigv4-verify.ts';
import { type CloudContext, createLoginRole, type EmulatedCloud } from './cloud.ts';

export const AWS_CREDENTIALS_PATH = '/aws/credentials';
/** How far a client clock may run ahead of the server's when it signs. */
const CLOCK_SKEW_MS = 5 * 60_000;
/** RDS honours an IAM token for 15 minutes after its X-Amz-Date, whatever its X-Amz-Expires says. */
const RDS_TOKEN_LIFETIME_MS = 15 * 60_000;

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
 * `DBUser` equal to the startup user, within its 15 minutes, for a role granted `rds_iam`.
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
  options: AwsOptions,
): Promise<EmulatedCloud & AwsControls> {
  const region = options.awsRegion ?? 'us-east-1';
  const authorizationToken = randomBytes(24).toString('hex');
  const credentialLifetimeMs = (options.awsCredentialLifetimeSeconds ?? 6 * 3600) * 1000;
  const issued = new Map<string, IssuedCredentials>();
  let current: { accessKeyId: string } & IssuedCredentials;
  const users = options.awsUsers ?? ['app_user'];

  const rotate = () => {
    const accessKeyId = `ASIA${randomBytes(8).toString('hex').toUpperCase()}`;
    current = {
      accessKeyId,
      secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: randomBytes(64).toString('base64'),
      expiresAtMs: context.now() + credentialLifetimeMs,
    };
    issued.set(accessKeyId, current);
  };
  rotate();

  await context.backend.adminSql(
    `DO $$ BEGIN CREATE ROLE rds_iam NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$`,
  );
  for (const user of users)
    await createLoginRole(context.backend, user, ` GRANT rds_iam TO ${quoteIdentifier(user)};`);

  const credentialsRoute: Route = {
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
      if (current.expiresAtMs - context.now() < 15 * 60_000) rotate();
      context.onIssued();
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

  const check = async (user: string, password: string): Promise<LoginCheck> => {
    // RDS verifies IAM tokens through PAM: every failure reads the same.
    const failed: LoginCheck = {
      ok: false,
      sqlState: '28000',
      message: `PAM authentication failed for user "${user}"`,
    };
    if (!parseRdsToken(password)) return users.includes(user) ? failed : passwordFailed(user);
    const claims = verifyRdsToken(password, (keyId) => issued.get(keyId)?.secretAccessKey);
    if (!claims) return failed;
    const credentials = issued.get(claims.accessKeyId) as IssuedCredentials;
    const now = context.now();
    const valid =
      claims.region === region &&
      claims.sessionToken === credentials.sessionToken &&
      now < credentials.expiresAtMs &&
      now >= claims.signedAtMs - CLOCK_SKEW_MS &&
      now < Math.min(claims.expiresAtMs, claims.signedAtMs + RDS_TOKEN_LIFETIME_MS) &&
      claims.dbUser === user &&
      context.gatewayHostPorts().includes(claims.hostPort) &&
      users.includes(user);
    return valid ? { ok: true, role: user } : failed;
  };

  return {
    name: 'aws',
    region,
    routes: [credentialsRoute],
    validator: { check },
    defaultUser: () => users[0] ?? '',
    clientEnv: (identityUrl) => ({
      AWS_CONTAINER_CREDENTIALS_FULL_URI: `${identityUrl}${AWS_CREDENTIALS_PATH}`,
      AWS_CONTAINER_AUTHORIZATION_TOKEN: authorizationToken,
      AWS_REGION: region,
      // Keep the SDK from probing the EC2 metadata service when the container endpoint fails.
      AWS_EC2_METADATA_DISABLED: 'true',
      PG_PASSWORDLESS_AWS_ENABLED: 'true',
    }),
    users: () => users,
    currentCredentials: () => ({
      accessKeyId: current.accessKeyId,
      secretAccessKey: current.secretAccessKey,
      sessionToken: current.sessionToken,
      expiration: new Date(current.expiresAtMs),
    }),
  };
}
