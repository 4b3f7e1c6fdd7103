/** The outcome of checking one login: the role to log in as, or the FATAL error to send. */
export type LoginCheck = { ok: true; role: string } | { ok: false; sqlState: string; message: string };

/** What the gateway asks of a cloud: is this password (a token) good for this startup user? */
export interface LoginValidator {
  check(user: string, password: string): Promise<LoginCheck>;
}

/** PostgreSQL's own answer to a bad password, used where a cloud has no more specific text. */
export function passwordFailed(user: string): LoginCheck {
  return { ok: false, sqlState: '28P01', message: `password authentication failed for user "${user}"` };
}
