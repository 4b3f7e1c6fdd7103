import { quoteIdentifier } from 'pg-passwordless/wire';
import type { Backend } from '../backend.ts';
import type { LoginCheck, LoginValidator } from '../login-validator.ts';
import { verifyPresignedToken } from '../sigv4-verify.ts';
import type { CloudContext } from './cloud.ts';
import { createLoginRole } from './cloud.ts';
import {
  DSQL_SESSION,
  DSQL_TOKEN,
  type DsqlRefusal,
  dsqlAccessDenied,
  iamAuthenticationFailed,
  signatureExpiredHint,
  signatureNotYetCurrentHint,
  wrongActionHint,
} from './dsql-facts.ts';

/** The AWS databases the aws cloud can play. */
export type AwsService = 'rds' | 'dsql';

/** Options of the AWS database the gateway plays. */
export interface DsqlOptions {
  /**
   * Which AWS database the gateway plays: `rds` (default: RDS and Aurora PostgreSQL IAM tokens) or `dsql`
   * (Aurora DSQL: `DbConnectAdmin` tokens for the role `admin`, `DbConnect` for the others).
   */
  awsService?: AwsService;
  /**
   * Aurora DSQL ends each session this long after its login (default 3600, DSQL's 60 minutes); a few
   * seconds let a test see it happen.
   */
  dsqlSessionCapSeconds?: number;
}

/** What the aws cloud needs of the database it plays: the roles are made, then this. */
export interface AwsDatabase {
  validator: LoginValidator;
  /** The gateway ends each session this long after its login. */
  sessionCapMs?: number;
  /** Variables a client needs besides the credentials endpoint's. */
  clientEnv: Record<string, string>;
}

/** The credentials an issuer handed out, as the DSQL check reads them. */
export interface IssuedCredentialsLike {
  secretAccessKey: string;
  sessionToken: string;
  expiresAtMs: number;
}

/** What the emulated cluster knows: its region, its roles, and the credentials the emulator issued. */
export interface DsqlServer {
  region: string;
  /** Roles of your own, each granted to the emulator's IAM identity (`AWS IAM GRANT`). */
  users: readonly string[];
  issuedFor(accessKeyId: string): IssuedCredentialsLike | undefined;
}

/**
 * Plays an Aurora DSQL cluster in front of the backend: the role `admin`, and each role of your own as
 * `CREATE ROLE x WITH LOGIN; AWS IAM GRANT x TO '<the emulator's IAM role>'` leaves it; DSQL's token
 * check (SigV4 for `dsql`, the action per role, the endpoint, the region, the token's own expiry and
 * its signing credentials'); DSQL's refusal texts; and the session cap.
 *
 * @example
 * import { startEmulator } from 'pg-passwordless-emulator';
 *
 * // startEmulator({ cloud: 'aws', awsService: 'dsql' }) plays Aurora DSQL with this.
 * const emulator = await startEmulator({ cloud: 'aws', awsService: 'dsql', backend: 'pglite' });
 * console.log(emulator.env.PG_PASSWORDLESS_AWS_SERVICE, emulator.env.PGUSER); // dsql app_user
 * await emulator.stop();
 */
export async function playDsql(
  context: CloudContext,
  server: DsqlServer,
  options: DsqlOptions,
): Promise<AwsDatabase> {
  await createDsqlRoles(context.backend, server.users);
  return {
    validator: dsqlValidator(context, server),
    sessionCapMs: (options.dsqlSessionCapSeconds ?? DSQL_SESSION.capSeconds) * 1000,
    clientEnv: { PG_PASSWORDLESS_AWS_SERVICE: 'dsql' },
  };
}

/** `admin` (it creates roles, as DSQL's does), then each role of your own. */
async function createDsqlRoles(backend: Backend, users: readonly string[]): Promise<void> {
  await createLoginRole(
    backend,
    DSQL_TOKEN.adminRole,
    ` ALTER ROLE ${quoteIdentifier(DSQL_TOKEN.adminRole)} CREATEROLE;`,
  );
  for (const user of users) await createLoginRole(backend, user);
}

/**
 * DSQL's login check: a token signed with credentials this emulator issued, still valid and with their
 * session token, for this region and this endpoint, within its own X-Amz-Expires (a week at most), for
 * the action the role takes, by a role that exists and is granted to the emulator's IAM identity.
 */
function dsqlValidator(context: CloudContext, server: DsqlServer): LoginValidator {
  const hosts = () => context.gatewayHostPorts().map((hostPort) => hostPort.replace(/:\d+$/, ''));
  const check = async (user: string, password: string): Promise<LoginCheck> => {
    const claims = verifyPresignedToken(
      password,
      DSQL_TOKEN,
      (keyId) => server.issuedFor(keyId)?.secretAccessKey,
    );
    const credentials = claims && server.issuedFor(claims.accessKeyId);
    if (
      !claims ||
      !credentials ||
      claims.region !== server.region ||
      claims.sessionToken !== credentials.sessionToken ||
      !hosts().includes(claims.hostPort) ||
      !(claims.expiresInSeconds > 0 && claims.expiresInSeconds <= DSQL_TOKEN.longestLifetimeSeconds)
    ) {
      return refused(dsqlAccessDenied());
    }
    const now = context.now();
    if (now >= credentials.expiresAtMs) return refused(iamAuthenticationFailed(user));
    if (now < claims.signedAtMs - DSQL_TOKEN.clockSkewMs) {
      const hint = signatureNotYetCurrentHint(claims.signedAtMs, now, DSQL_TOKEN.clockSkewMs / 1000);
      return refused(dsqlAccessDenied(hint));
    }
    if (now >= claims.signedAtMs + claims.expiresInSeconds * 1000) {
      return refused(dsqlAccessDenied(signatureExpiredHint(claims.signedAtMs, now, claims.expiresInSeconds)));
    }
    const isAdmin = user === DSQL_TOKEN.adminRole;
    if (claims.action !== (isAdmin ? DSQL_TOKEN.adminAction : DSQL_TOKEN.roleAction)) {
      return refused(dsqlAccessDenied(wrongActionHint(user, claims.action)));
    }
    if (!isAdmin && !server.users.includes(user)) return refused(dsqlAccessDenied());
    return { ok: true, role: user };
  };
  return { check };
}

function refused(refusal: DsqlRefusal): LoginCheck {
  return { ok: false, ...refusal };
}
