import { createHash } from 'node:crypto';
/** The outcome of checking one login: the role to log in as, or the FATAL error to send (with its HINT, if any). */
export type LoginCheck =
  | { ok: true; role: string }
  | { ok: false; sqlState: string; message: string; hint?: string };

/** What the gateway asks of a cloud: is this password (a token) good for this startup user? */
export interface LoginValidator {
  check(user: string, password: string): Promise<LoginCheck>;
}

/**
 * PostgreSQL's own answer to a bad password, used where a cloud has no more specific text.
 *
 * @example
 * console.log(passwordFailed('app'));
 * // { ok: false, sqlState: '28P01', message: 'password authentication failed for user "app"' }
 */
export function passwordFailed(user: string): LoginCheck {
  return { ok: false, sqlState: '28P01', message: `password authentication failed for user "${user}"` };
}

/**
 * Password authentication next to the cloud's token check, for roles that have a password (the
 * static-password baseline). Off unless the emulator is started with a password role.
 *
 * @example
 * const tokens: LoginValidator = {
 *   check: async (user, token) => (token === 'a-token' ? { ok: true, role: user } : passwordFailed(user)),
 * };
 * const validator = withPasswordRoles(tokens, new Map([['legacy_app', 'secret']]));
 * console.log(await validator.check('legacy_app', 'secret')); // { ok: true, role: 'legacy_app' }
 * console.log((await validator.check('legacy_app', 'a-token')).ok); // false: a password role
 * console.log(await validator.check('orders-api', 'a-token')); // { ok: true, role: 'orders-api' }
 */
export function withPasswordRoles(
  validator: LoginValidator,
  passwordRoles: ReadonlyMap<string, string>,
): LoginValidator {
  return {
    async check(user, password) {
      const expected = passwordRoles.get(user);
      if (expected !== undefined)
        return expected === password ? { ok: true, role: user } : passwordFailed(user);
      return validator.check(user, password);
    },
  };
}

/** A validator whose accepted tokens can be revoked all at once. */
export interface RevocableValidator extends LoginValidator {
  /** From now on, refuse every token accepted so far (as after a role is re-created or a key rolled). */
  revokeAccepted(): number;
}

/**
 * Remembers a digest (never the token) of every token that logged in, so that a test can make the
 * server refuse tokens a client has cached, the way a cloud refuses a revoked one; new tokens pass.
 *
 * @example
 * const tokens: LoginValidator = { check: async (user) => ({ ok: true, role: user }) };
 * const validator = withRevocation(tokens);
 * console.log((await validator.check('orders-api', 'token-1')).ok); // true
 * console.log(validator.revokeAccepted()); // 1
 * console.log((await validator.check('orders-api', 'token-1')).ok); // false: refused from now on
 * console.log((await validator.check('orders-api', 'token-2')).ok); // true: a new token passes
 */
export function withRevocation(validator: LoginValidator): RevocableValidator {
  const accepted = new Set<string>();
  const revoked = new Set<string>();
  const digest = (password: string) => createHash('sha256').update(password).digest('hex');
  return {
    async check(user, password) {
      const key = digest(password);
      if (revoked.has(key)) return passwordFailed(user);
      const verdict = await validator.check(user, password);
      if (verdict.ok) accepted.add(key);
      return verdict;
    },
    revokeAccepted() {
      for (const key of accepted) revoked.add(key);
      const count = accepted.size;
      accepted.clear();
      return count;
    },
  };
}
