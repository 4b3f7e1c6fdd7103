import { type LoginCheck, type LoginValidator, passwordFailed } from '../login-validator.ts';
import { DATABASE_SERVICES, databaseUserOf, type GcpService } from './gcp-facts.ts';
import { isUsable, type TokenStore } from './gcp-tokens.ts';

/**
 * The IAM login check of Cloud SQL or AlloyDB: a token this emulator issued, unexpired, with a login
 * scope of the service, for a service account whose database user is the startup user. A federated
 * token (what STS hands out before impersonation) speaks for no service account and is refused.
 *
 * @example
 * const tokens = { issue: () => '', lookUp: () => ({ serviceAccount: 'orders@shop.iam.gserviceaccount.com', principal: 'orders@shop.iam.gserviceaccount.com', scopes: ['https://www.googleapis.com/auth/alloydb.login'], expiresAtMs: Date.now() + 60_000 }) };
 * const validator = gcpIamValidator('alloydb', tokens, Date.now);
 * console.log((await validator.check('orders@shop.iam', 'ya29.opaque')).ok); // true
 * const refused = await validator.check('reports@shop.iam', 'ya29.opaque');
 * console.log(refused.ok ? 'accepted' : refused.message);
 * // AlloyDB IAM user authentication failed for user "reports@shop.iam"
 */
export function gcpIamValidator(service: GcpService, tokens: TokenStore, now: () => number): LoginValidator {
  const { loginScopes, refusal } = DATABASE_SERVICES[service];
  const check = async (user: string, password: string): Promise<LoginCheck> => {
    if (!password.startsWith('ya29.')) return passwordFailed(user);
    const issued = tokens.lookUp(password);
    const account = issued?.serviceAccount;
    if (isUsable(issued, now(), loginScopes) && account && databaseUserOf(account) === user) {
      return { ok: true, role: user };
    }
    return { ok: false, sqlState: '28000', message: refusal(user) };
  };
  return { check };
}
