import type { CloudDoctor, LoginContext, TokenFacts } from '../../core/doctor-hooks.ts';
import { formatDuration } from '../../core/doctor-readings.ts';
import { describeAwsCredential } from './credential-chain.ts';
import { dsqlRoleMissingHint, explainDsqlRefusal, isDsqlLogin, readDsqlToken } from './dsql-doctor.ts';
import type { AwsSettings } from './options.ts';

/**
 * What an RDS IAM token shows without its signature: it is a presigned URL without its scheme,
 * `host:port/?Action=connect&DBUser=...`, with the endpoint, user, region and date it was signed for.
 *
 * @example
 * const facts = readRdsToken('db.example.com:5432/?Action=connect&DBUser=app&X-Amz-Date=20260101T000000Z&X-Amz-Expires=900&X-Amz-Credential=AKIA%2F20260101%2Fus-east-1%2Frds-db%2Faws4_request');
 * console.log(facts?.dbUser, facts?.region); // app us-east-1
 */
export function readRdsToken(token: string): TokenFacts | undefined {
  const split = token.indexOf('/?');
  if (split < 0 || !token.includes('X-Amz-')) return undefined;
  const hostPort = token.slice(0, split);
  const query = new URLSearchParams(token.slice(split + 2));
  if (query.get('Action') !== 'connect') return undefined;
  const portMatch = /^(.*):(\d+)$/.exec(hostPort);
  // X-Amz-Credential is <access key id>/<date>/<region>/rds-db/aws4_request: only the region is shown.
  const region = query.get('X-Amz-Credential')?.split('/')[2];
  const date = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(query.get('X-Amz-Date') ?? '');
  const [year, month, day, hour, minute, second] = (date?.slice(1) ?? []).map(Number);
  const issuedAtMs =
    date && year !== undefined && month !== undefined
      ? Date.UTC(year, month - 1, day, hour, minute, second)
      : undefined;
  const expires = Number(query.get('X-Amz-Expires'));
  const expiresInSeconds = Number.isFinite(expires) && expires > 0 ? expires : undefined;
  // RDS honours a token for 15 minutes at most, whatever X-Amz-Expires says.
  const signatureEndsAtMs =
    issuedAtMs !== undefined ? issuedAtMs + Math.min(expiresInSeconds ?? 900, 900) * 1000 : undefined;
  // Signed with temporary credentials, it ends with them too, which the token does not show: the
  // token cache knows that end (it keeps the credentials' expiry), so the expiry is left to it.
  const temporaryCredentials = query.has('X-Amz-Security-Token');
  const facts: TokenFacts = {
    kind: 'rds-iam',
    signingHost: portMatch?.[1] ?? hostPort,
    signingPort: portMatch ? Number(portMatch[2]) : undefined,
    dbUser: query.get('DBUser') ?? undefined,
    region,
    issuedAtMs,
    expiresAtMs: temporaryCredentials ? undefined : signatureEndsAtMs,
    signatureEndsAtMs,
    temporaryCredentials,
    summary: '',
  };
  const signedWith = temporaryCredentials
    ? ', signed with temporary credentials (valid while they are, 15 minutes at most)'
    : '';
  facts.summary = `an RDS IAM token signed for ${hostPort}, DBUser ${facts.dbUser ?? '(none)'}, region ${region ?? '(none)'}, X-Amz-Expires ${expiresInSeconds ?? '(none)'}${signedWith}`;
  return { ...facts, expiresInSeconds };
}

/** RDS says only "PAM authentication failed": list what the token shows that does not fit. */
function rdsHint(context: LoginContext): string {
  const now = context.now();
  const { token, user, host, port } = context;
  const found: string[] = [];
  if (token?.dbUser !== undefined && token.dbUser !== user)
    found.push(`the token was signed for DBUser "${token.dbUser}", the login user is "${user}"`);
  if (token?.signingHost !== undefined && (token.signingHost !== host || token.signingPort !== port))
    found.push(
      `the token was signed for ${token.signingHost}:${token.signingPort}, the connection goes to ${host}:${port} (right for RDS Proxy or a custom name only when it is the RDS endpoint behind it)`,
    );
  if (token?.issuedAtMs !== undefined && token.issuedAtMs > now + 5 * 60_000)
    found.push(`the token is dated ${formatDuration(token.issuedAtMs - now)} after this machine's clock`);
  if (token?.expiresAtMs !== undefined && token.expiresAtMs <= now)
    found.push(
      token.temporaryCredentials
        ? 'the token, or the temporary credentials that signed it, has expired'
        : 'the token has expired',
    );
  const causes = found.length > 0 ? `What the token shows: ${found.join('; ')}. ` : '';
  const temporary = token?.temporaryCredentials
    ? ', or the temporary credentials that signed it (a session token: an assumed role, IRSA, EKS Pod Identity, a task role) expired or were revoked, which ends the token too, within its 15 minutes'
    : '';
  return (
    `${causes}RDS says only "PAM authentication failed"; the usual causes: the user lacks the grant (GRANT rds_iam TO "${user}";), ` +
    `the IAM policy does not allow rds-db:connect on dbuser/${user}, the token was signed for another host, port, user or region, ` +
    `or it expired (15 minutes)${temporary}, or the clocks differ (sync NTP).`
  );
}

/** What the doctor asks of the AWS cloud. */
export const awsDoctor: CloudDoctor<AwsSettings> = {
  describeCredential: describeAwsCredential,
  readToken: (token) => readRdsToken(token) ?? readDsqlToken(token),
  explainRefusal: (refusal, context) => {
    if (isDsqlLogin(context)) return explainDsqlRefusal(refusal, context);
    return /PAM authentication failed/i.test(refusal.message)
      ? { code: 'RDS_IAM_FAILED', detail: refusal.said, hint: rdsHint(context) }
      : undefined;
  },
  roleMissingHint: (context) =>
    isDsqlLogin(context)
      ? dsqlRoleMissingHint(context)
      : `Create the user: CREATE USER "${context.user}"; GRANT rds_iam TO "${context.user}";`,
  caHint:
    'RDS: the bundle from https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem; Aurora DSQL: Amazon Root CA 1, which Node ships (https://www.amazontrust.com/repository/AmazonRootCA1.pem)',
};
