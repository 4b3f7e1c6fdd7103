import type { CloudDoctor, LoginContext, LoginDiagnosis } from '../core/doctor-hooks.ts';
import { expiryDiagnosis } from '../core/doctor-readings.ts';

/**
 * Names the reason a server refused a token login: first in its cloud's own words (Azure's Entra
 * checks, RDS's PAM check, Cloud SQL's IAM check), then by what every PostgreSQL says: an expired
 * token or a clock that is off, a role that does not exist, a database that does not, a missing grant,
 * pg_hba.conf.
 *
 * @example
 * const diagnosis = explainLoginFailure(
 *   { code: '3D000', message: 'database "ordrs" does not exist' },
 *   undefined,
 *   { user: 'orders-api', host: 'db.example.com', port: 5432, database: 'ordrs', facts: {}, now: Date.now },
 * );
 * console.log(diagnosis.code); // DATABASE_MISSING
 */
export function explainLoginFailure(
  error: { code?: unknown; message?: unknown; hint?: unknown },
  cloud: CloudDoctor<never> | undefined,
  context: LoginContext,
): LoginDiagnosis {
  const sqlState = typeof error.code === 'string' ? error.code : undefined;
  const message = typeof error.message === 'string' ? error.message : String(error.message);
  // The server's HINT (pg keeps it as `hint`) says why where the message does not (Aurora DSQL).
  const serverHint = typeof error.hint === 'string' && error.hint !== '' ? error.hint : undefined;
  const said = `the server refused the login${sqlState ? ` (SQLSTATE ${sqlState})` : ''}: ${message}${serverHint ? ` (HINT: ${serverHint})` : ''}`;
  const { user } = context;
  const byCloud = cloud?.explainRefusal?.({ sqlState, message, said, serverHint }, context);
  if (byCloud) return byCloud;
  if (/has expired/i.test(message)) return expiryDiagnosis(said, context);
  if (/not yet valid/i.test(message)) {
    return {
      code: 'CLOCK_SKEW',
      detail: `${said}; the token starts later than the server's clock allows`,
      hint: 'The clocks of the identity endpoint and the server differ: sync this machine and check the server’s time (NTP).',
    };
  }
  if (sqlState === '28P01' || /password authentication failed/i.test(message)) {
    return {
      code: 'ROLE_MISSING',
      detail: `${said}; no role "${user}" takes tokens here`,
      hint:
        cloud?.roleMissingHint?.(context) ??
        `Check that the role "${user}" exists and accepts this kind of login.`,
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
