import type { LoginContext, LoginDiagnosis, TokenFacts } from '../../core/doctor-hooks.ts';
import { expiryDiagnosis, formatDuration } from '../../core/doctor-readings.ts';
import { DSQL_ADMIN_ROLE, dsqlAction } from './dsql-token-source.ts';

/** The `kind` of the facts read from an Aurora DSQL token. */
export const DSQL_TOKEN_KIND = 'dsql-iam';

/** What the aws cloud's facts say of a DSQL target (dsql-identity.ts). */
const DSQL_SERVICE = 'Aurora DSQL';

/**
 * Whether a login went to Aurora DSQL: its token reads as a DSQL token, or the cloud said so of the
 * target. RDS Proxy's refusals read much like DSQL's ("IAM authentication failed for user"), so the
 * service, not the words, decides whose explanation applies.
 *
 * @example
 * console.log(isDsqlLogin({ user: 'admin', host: 'h', port: 5432, facts: { service: 'Aurora DSQL' }, now: Date.now })); // true
 */
export function isDsqlLogin(context: LoginContext): boolean {
  return context.token?.kind === DSQL_TOKEN_KIND || context.facts.service === DSQL_SERVICE;
}

/** A week: the longest `X-Amz-Expires` DSQL honours ("Generating an authentication token in Amazon Aurora DSQL"). */
const LONGEST_DSQL_TOKEN_SECONDS = 604_800;

/**
 * What an Aurora DSQL token shows without its signature: a presigned URL without its scheme,
 * `<cluster endpoint>/?Action=DbConnect|DbConnectAdmin&X-Amz-...`, with the endpoint, action, region and
 * date it was signed for, valid for its `X-Amz-Expires`.
 *
 * @example
 * const facts = readDsqlToken('abc.dsql.us-east-1.on.aws/?Action=DbConnectAdmin&X-Amz-Credential=AKIA%2F20260101%2Fus-east-1%2Fdsql%2Faws4_request&X-Amz-Date=20260101T000000Z&X-Amz-Expires=900');
 * console.log(facts?.action, facts?.region, facts?.signingHost); // DbConnectAdmin us-east-1 abc.dsql.us-east-1.on.aws
 */
export function readDsqlToken(token: string): TokenFacts | undefined {
  const split = token.indexOf('/?');
  if (split < 0 || !token.includes('X-Amz-')) return undefined;
  const query = new URLSearchParams(token.slice(split + 2));
  const action = query.get('Action');
  if (action !== 'DbConnect' && action !== 'DbConnectAdmin') return undefined;
  const signingHost = token.slice(0, split);
  // X-Amz-Credential is <access key id>/<date>/<region>/dsql/aws4_request: only the region is shown.
  const region = query.get('X-Amz-Credential')?.split('/')[2];
  const date = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(query.get('X-Amz-Date') ?? '');
  const issuedAtMs = date
    ? Date.UTC(
        +(date[1] ?? 0),
        +(date[2] ?? 1) - 1,
        +(date[3] ?? 1),
        +(date[4] ?? 0),
        +(date[5] ?? 0),
        +(date[6] ?? 0),
      )
    : undefined;
  const expires = Number(query.get('X-Amz-Expires'));
  const expiresInSeconds = Number.isFinite(expires) && expires > 0 ? expires : undefined;
  return {
    kind: DSQL_TOKEN_KIND,
    signingHost,
    action,
    region,
    issuedAtMs,
    expiresInSeconds,
    expiresAtMs:
      issuedAtMs !== undefined && expiresInSeconds !== undefined
        ? issuedAtMs + Math.min(expiresInSeconds, LONGEST_DSQL_TOKEN_SECONDS) * 1000
        : undefined,
    summary: `an Aurora DSQL ${action} token signed for ${signingHost}, region ${region ?? '(none)'}, X-Amz-Expires ${expiresInSeconds ?? '(none)'}`,
  };
}

/**
 * Names a refusal of an Aurora DSQL login. DSQL refuses every token login with the same FATAL line, `unable to
 * accept connection, access denied`, and says why, when it says, in the error's HINT: `Wrong user to
 * action mapping`, `Signature expired: ...`; `IAM authentication failed for user "..."` when the role
 * that signed has expired ("Troubleshooting issues in Aurora DSQL"). Undefined for any other text.
 *
 * @example
 * const context = { user: 'admin', host: 'abc.dsql.us-east-1.on.aws', port: 5432, facts: {}, now: Date.now };
 * const diagnosis = explainDsqlRefusal(
 *   { message: 'unable to accept connection, access denied', said: 'the server refused the login', serverHint: 'Wrong user to action mapping. user: admin, action: DbConnect' },
 *   context,
 * );
 * console.log(diagnosis?.code); // DSQL_WRONG_ACTION
 */
export function explainDsqlRefusal(
  refusal: { message: string; said: string; serverHint?: string },
  context: LoginContext,
): LoginDiagnosis | undefined {
  const { message, said, serverHint = '' } = refusal;
  if (/IAM authentication failed for user/i.test(message)) {
    return {
      code: 'DSQL_CREDENTIALS_EXPIRED',
      detail: said,
      hint: 'Aurora DSQL refuses a token whose signing credentials (an assumed role, a web identity or container role session) have expired, even when the token has not: the next connection signs with fresh credentials; check that the credential source renews them.',
    };
  }
  if (!/unable to accept connection, access denied/i.test(message)) return undefined;
  if (/Wrong user to action mapping/i.test(serverHint)) {
    return {
      code: 'DSQL_WRONG_ACTION',
      detail: said,
      hint: `The role "${DSQL_ADMIN_ROLE}" logs in with a DbConnectAdmin token, every other role with a DbConnect token; "${context.user}" needs ${dsqlAction(context.user)}. Connect with the role in the URL (pg-passwordless signs by it) rather than a token signed for another role.`,
    };
  }
  if (/Signature expired/i.test(serverHint)) return expiryDiagnosis(said, context);
  if (/Signature not yet current/i.test(serverHint)) {
    return {
      code: 'CLOCK_SKEW',
      detail: said,
      hint: 'The token is dated after the server’s clock: sync this machine’s clock (NTP: timedatectl set-ntp true, chronyd).',
    };
  }
  return { code: 'DSQL_ACCESS_DENIED', detail: said, hint: accessDeniedHint(context) };
}

/** DSQL says only "access denied": list what the token shows that does not fit, then the usual causes. */
function accessDeniedHint(context: LoginContext): string {
  const { token, user, host } = context;
  const now = context.now();
  const found: string[] = [];
  if (token?.signingHost !== undefined && token.signingHost !== host)
    found.push(
      `the token was signed for ${token.signingHost}, the connection goes to ${host} (right only behind a custom DNS name or PrivateLink endpoint of that cluster)`,
    );
  if (token?.action !== undefined && token.action !== dsqlAction(user))
    found.push(`the token is for ${token.action}, the role "${user}" needs ${dsqlAction(user)}`);
  if (token?.expiresAtMs !== undefined && token.expiresAtMs <= now) found.push('the token has expired');
  if (token?.issuedAtMs !== undefined && token.issuedAtMs > now + 5 * 60_000)
    found.push(`the token is dated ${formatDuration(token.issuedAtMs - now)} after this machine's clock`);
  const causes = found.length > 0 ? `What the token shows: ${found.join('; ')}. ` : '';
  const grant =
    user === DSQL_ADMIN_ROLE
      ? 'the IAM policy does not allow dsql:DbConnectAdmin on the cluster'
      : `the role is not linked to this IAM identity (as admin: AWS IAM GRANT "${user}" TO '<IAM role ARN>';), or the IAM policy does not allow dsql:DbConnect on the cluster`;
  return `${causes}Aurora DSQL says only "access denied"; the usual causes: ${grant}, the token was signed for another cluster endpoint or region, or the credentials are not the ones you think (pg-passwordless doctor names the credential above).`;
}

/**
 * How to create a role that logs in with IAM on Aurora DSQL ("Using database roles and IAM
 * authentication", docs.aws.amazon.com/aurora-dsql/latest/userguide/using-database-and-iam-roles.html).
 *
 * @example
 * console.log(dsqlRoleMissingHint({ user: 'orders_app', host: 'h', port: 5432, facts: {}, now: Date.now }));
 */
export function dsqlRoleMissingHint({ user }: LoginContext): string {
  return `Connected as admin: CREATE ROLE "${user}" WITH LOGIN; AWS IAM GRANT "${user}" TO '<IAM role ARN>'; and allow dsql:DbConnect on the cluster in that role's IAM policy.`;
}
