import { formatDuration, type TokenFacts } from './doctor-token.ts';

/** What the doctor knows when a login is refused: who logged in where, and what the token said. */
export interface LoginContext {
  cloud: 'azure' | 'aws' | 'gcp' | undefined;
  user: string;
  host: string;
  port: number;
  database?: string;
  token?: TokenFacts;
  /** GCP: the service account's email, from google-auth-library's credentials. */
  serviceAccount?: string;
  now?: () => number;
}

/** A refused login, named: a stable code, what happened, and what to do. */
export interface LoginDiagnosis {
  code: string;
  detail: string;
  hint: string;
}

/**
 * Names the reason a server refused a token login, from its SQLSTATE and the clouds' own texts
 * (Azure Database for PostgreSQL, RDS's PAM check, Cloud SQL's IAM check), and what the token said:
 * a role that does not exist, a role mapped to another identity, the wrong audience, an expired token
 * or a clock that is off, a missing `rds_iam` grant or a token signed for another endpoint, a Cloud
 * SQL user that does not match the service account.
 *
 * @example
 * const diagnosis = explainLoginFailure(
 *   { code: '28000', message: 'The access token does not have a valid audience claim. Please acquire a new token for the resource "https://ossrdbms-aad.database.usgovcloudapi.net".' },
 *   { cloud: 'azure', user: 'orders-api', host: 'db.example.com', port: 5432 },
 * );
 * console.log(diagnosis.code); // WRONG_AUDIENCE
 */
export function explainLoginFailure(
  error: { code?: unknown; message?: unknown },
  context: LoginContext,
): LoginDiagnosis {
  const sqlState = typeof error.code === 'string' ? error.code : undefined;
  const message = typeof error.message === 'string' ? error.message : String(error.message);
  const said = `the server refused the login${sqlState ? ` (SQLSTATE ${sqlState})` : ''}: ${message}`;
  const { user, token } = context;
  const now = (context.now ?? Date.now)();
  const objectId = token?.objectId ?? '<object id>';

  const audience = /valid audience claim.*resource "([^"]+)"/i.exec(message);
  if (audience) {
    const wanted = audience[1] as string;
    return {
      code: 'WRONG_AUDIENCE',
      detail: `${said}; the token is for ${token?.audience ?? 'another audience'}, the server wants ${wanted}`,
      hint:
        `Request the token for ${wanted}/.default: connect with the server's own host name (its suffix names the cloud), ` +
        `or set the cloud in code ({ azure: { cloud: 'usgov' | 'china' | 'public' } }) or the scope ({ azure: { scope: '${wanted}/.default' } }).`,
    };
  }
  if (
    /has expired|AAD_AUTH_EXPIRED/i.test(message) ||
    (/expired/i.test(message) && context.cloud === 'azure')
  ) {
    const stillValidHere = token?.expiresAtMs !== undefined && token.expiresAtMs > now;
    return stillValidHere
      ? {
          code: 'CLOCK_SKEW',
          detail: `${said}; by this machine's clock the token is valid for ${formatDuration(
            (token?.expiresAtMs as number) - now,
          )} more, so the server's clock is ahead of this machine's`,
          hint: 'Sync this machine’s clock (NTP: timedatectl set-ntp true, chronyd) and the identity endpoint’s; tokens are checked against the server’s clock.',
        }
      : {
          code: 'TOKEN_EXPIRED',
          detail: `${said}${token?.expiresAtMs !== undefined ? `; the token expired at ${new Date(token.expiresAtMs).toISOString()}` : ''}`,
          hint: 'Fetch a new token: a token is checked at login only, so a cached one must be refreshed before it expires (check the clock too).',
        };
  }
  if (/not yet valid/i.test(message)) {
    return {
      code: 'CLOCK_SKEW',
      detail: `${said}; the token starts later than the server's clock allows`,
      hint: 'The clocks of the identity endpoint and the server differ: sync this machine and check the server’s time (NTP).',
    };
  }
  if (/does not belong to role|object id does not match/i.test(message)) {
    return {
      code: 'ROLE_NOT_MAPPED',
      detail: `${said}; role "${user}" is linked to another identity than this token's (object id ${objectId})`,
      hint: `As an Entra admin, in the postgres database: select * from pgaadauth_create_principal_with_oid('${user}', '${objectId}', 'service', false, false); or log in as the role this identity has${token?.suggestedRole && token.suggestedRole !== user ? ` ("${token.suggestedRole}", by its claims)` : ''}.`,
    };
  }
  if (/cannot generate AAD_AUTH_TOKENTYPE/i.test(message)) {
    return {
      code: 'ROLE_TYPE_MISMATCH',
      detail: `${said}; role "${user}" was created for another kind of principal than this token's (${token?.tokenType ?? 'unknown'} token)`,
      hint: `Re-create the role with the right type: select * from pgaadauth_create_principal_with_oid('${user}', '${objectId}', '${token?.tokenType === 'app' ? 'service' : 'user'}', false, false);`,
    };
  }
  if (/tenant this server does not trust/i.test(message)) {
    return {
      code: 'WRONG_TENANT',
      detail: `${said}; the token's tenant is ${token?.tenantId ?? 'unknown'}`,
      hint: 'Use an identity of the server’s tenant (AZURE_TENANT_ID), or add the role from the right tenant.',
    };
  }
  if (/issuer is not valid|signature is invalid/i.test(message)) {
    return {
      code: 'TOKEN_INVALID',
      detail: said,
      hint: 'The token comes from another identity provider or cloud than the server trusts: check the sovereign cloud and the authority host.',
    };
  }
  if (/PAM authentication failed/i.test(message)) {
    return { code: 'RDS_IAM_FAILED', detail: said, hint: rdsHint(context, now) };
  }
  if (/Cloud SQL IAM (service account|user) authentication failed/i.test(message)) {
    const expected = context.serviceAccount?.replace(/\.gserviceaccount\.com$/, '');
    const mismatch = expected && expected !== user;
    return {
      code: 'CLOUD_SQL_IAM_FAILED',
      detail: `${said}${mismatch ? `; the token belongs to ${context.serviceAccount}, whose database user is "${expected}", not "${user}"` : ''}`,
      hint: mismatch
        ? `Log in as "${expected}" (the service account's email without .gserviceaccount.com), or use that account's credentials.`
        : `Create the user (gcloud sql users create ${user} --type=cloud_iam_service_account), grant roles/cloudsql.instanceUser to the account, request the sqlservice.login scope, and set cloudsql.iam_authentication=on.`,
    };
  }
  if (sqlState === '28P01' || /password authentication failed/i.test(message)) {
    return {
      code: 'ROLE_MISSING',
      detail: `${said}; no role "${user}" takes tokens here`,
      hint: roleMissingHint(context),
    };
  }
  if (sqlState === '3D000') {
    return {
      code: 'DATABASE_MISSING',
      detail: said,
      hint: `Create the database or fix its name in the URL (now "${context.database ?? ''}").`,
    };
  }
  if (sqlState === '42501') {
    return {
      code: 'PERMISSION_DENIED',
      detail: said,
      hint: `Grant the role what it needs: grant connect on database "${context.database ?? '<database>'}" to "${user}";`,
    };
  }
  if (/pg_hba\.conf/i.test(message)) {
    return {
      code: 'HBA_REJECTED',
      detail: said,
      hint: 'The server’s pg_hba.conf (or firewall rules) do not let this address, user or TLS mode in.',
    };
  }
  return {
    code: sqlState ? `SQLSTATE_${sqlState}` : 'LOGIN_FAILED',
    detail: said,
    hint: 'See the server’s message; check the role, the database and the server’s authentication settings.',
  };
}

function roleMissingHint(context: LoginContext): string {
  const { user, token } = context;
  if (context.cloud === 'azure') {
    const other =
      token?.suggestedRole && token.suggestedRole !== user
        ? ` The token's claims suggest the role "${token.suggestedRole}".`
        : '';
    return `Create the role for this identity as an Entra admin, in the postgres database: select * from pgaadauth_create_principal_with_oid('${user}', '${token?.objectId ?? '<object id>'}', 'service', false, false);${other}`;
  }
  if (context.cloud === 'aws') return `Create the user: CREATE USER "${user}"; GRANT rds_iam TO "${user}";`;
  if (context.cloud === 'gcp')
    return `Create the IAM user: gcloud sql users create ${user} --instance=<instance> --type=cloud_iam_service_account`;
  return `Check that the role "${user}" exists and accepts this kind of login.`;
}

/** RDS says only "PAM authentication failed": list what the token shows that does not fit. */
function rdsHint(context: LoginContext, now: number): string {
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
  if (token?.expiresAtMs !== undefined && token.expiresAtMs <= now) found.push('the token has expired');
  const causes = found.length > 0 ? `What the token shows: ${found.join('; ')}. ` : '';
  return (
    `${causes}RDS says only "PAM authentication failed"; the usual causes: the user lacks the grant (GRANT rds_iam TO "${user}";), ` +
    `the IAM policy does not allow rds-db:connect on dbuser/${user}, the token was signed for another host, port, user or region, ` +
    `or it expired (15 minutes) or the clocks differ (sync NTP).`
  );
}
