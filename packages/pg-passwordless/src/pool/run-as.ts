import { execFileSync } from 'node:child_process';
import { PasswordlessError, printable } from '../core/errors.ts';

/** An OS user PgBouncer runs as, by name and ids (to hand it its files). */
export interface OsUser {
  name: string;
  uid: number;
  gid: number;
}

/** The user Debian's pgbouncer package runs PgBouncer as. */
export const DEFAULT_PGBOUNCER_USER = 'postgres';

/**
 * Who PgBouncer runs as. PgBouncer refuses to run as root ("PgBouncer should not run as root"), so a
 * pool started as root runs it as another user, `postgres` by default (as Debian's package does); any
 * other user runs it as itself. Processes of that user can reach what PgBouncer can: give it a user of
 * its own where other services run as `postgres`.
 *
 * @example
 * const user = pgbouncerUser(undefined);
 * console.log(user === undefined || user.uid !== 0); // true: root's PgBouncer runs as postgres
 */
export function pgbouncerUser(asked: string | undefined): OsUser | undefined {
  if (process.getuid?.() !== 0) {
    if (asked === undefined) return undefined;
    throw new PasswordlessError('CONFIG_INVALID', '--pgbouncer-user is for a pool started as root.', {
      hint: 'Leave it out: PgBouncer runs as the user who starts the pool.',
    });
  }
  const name = asked ?? DEFAULT_PGBOUNCER_USER;
  const id = (flag: string) =>
    Number(execFileSync('id', [flag, name], { encoding: 'utf8', stdio: 'pipe' }).trim());
  let user: OsUser;
  try {
    user = { name, uid: id('-u'), gid: id('-g') };
  } catch {
    throw new PasswordlessError('CONFIG_INVALID', `No OS user ${printable(name)} to run PgBouncer as.`, {
      hint: 'PgBouncer does not run as root: create a user for it (useradd --system pgbouncer) and pass --pgbouncer-user pgbouncer, or start the pool as a user other than root.',
    });
  }
  if (user.uid === 0) {
    throw new PasswordlessError(
      'CONFIG_INVALID',
      `${printable(name)} is root, which PgBouncer refuses to run as.`,
      {
        hint: 'Pass --pgbouncer-user with a user of its own (useradd --system pgbouncer).',
      },
    );
  }
  return user;
}
