import { PasswordlessError } from '../core/errors.ts';
import { chosenCloud, cloudOptionHelp } from './cloud-option.ts';
import { libpqUrl, resolveCliConnection } from './connection.ts';
import { defineCommand } from './frame/command.ts';
import type { Io } from './frame/io.ts';
import type { ParsedArgs } from './frame/parsed-args.ts';

const TOKEN_HELP = (cloudLine: string) => `Usage: pg-passwordless token [URL] [options]

Prints one current token for the target: URL, else DATABASE_URL, else PGHOST, PGPORT, PGUSER, PGDATABASE.
The token is the password; it is valid for a limited time (from 15 minutes to about an hour, by cloud)
and only for logins, so fetch it just before you connect:

  PGPASSWORD="$(pg-passwordless token)" psql
  pgAdmin: Server > Advanced > Password exec command: pg-passwordless token postgresql://<role>@<host>/<db>

Options:
  --json          print {"user","expiresAt","token"} instead
  --url           print a libpq URL with the token as its password (percent-encoded), sslmode and
                  sslrootcert (when a CA file is in use; a cloud's CA bundle built into pg-passwordless
                  is not a file: set PGSSLROOTCERT to a downloaded bundle for libpq)
${cloudLine}
  --force         print to a terminal too (refused by default: a token in scroll-back or on a shared
                  screen is a password anyone can use until it expires)
  -h, --help      show this help`;

/**
 * Whether the token must not be printed: standard output is a terminal and `--force` was not given
 * (a token in scroll-back or on a shared screen is a password anyone can use until it expires).
 *
 * @example
 * console.log(refusesTerminal({ isTTY: true }, false)); // true
 * console.log(refusesTerminal({ isTTY: true }, true)); // false: --force
 * console.log(refusesTerminal({}, false)); // false: a pipe, a file, $(...)
 */
export function refusesTerminal(stdout: { isTTY?: boolean }, force: boolean): boolean {
  return stdout.isTTY === true && !force;
}

/**
 * `pg-passwordless token [URL] [--json | --url] [--cloud NAME] [--force]`: prints one current token.
 * Resolves with the exit code; errors are thrown as PasswordlessError (the CLI prints code and hint).
 *
 * @example
 * console.log(tokenCommand.name, Object.keys(tokenCommand.options)); // token [ 'json', 'url', 'force', 'cloud', 'help' ]
 */
export const tokenCommand = defineCommand({
  name: 'token',
  summary: 'print a current token for the target (PGPASSWORD="$(pg-passwordless token)" psql)',
  options: {
    json: { type: 'boolean' },
    url: { type: 'boolean' },
    force: { type: 'boolean' },
    cloud: { type: 'string' },
  },
  positionals: 'connection',
  help: async (io) => TOKEN_HELP(await cloudOptionHelp(io.env, 16)),
  run: printToken,
});

async function printToken(args: ParsedArgs, io: Io): Promise<number> {
  if (args.flag('json') && args.flag('url'))
    throw args.error('--json and --url cannot be used together.', 'Choose one output form.');
  if (refusesTerminal(io.stdout, args.flag('force'))) {
    throw new PasswordlessError('CONFIG_INVALID', 'Refusing to print a token to a terminal.', {
      hint: 'Capture it (PGPASSWORD="$(pg-passwordless token)" psql) or pipe it; pass --force to print it here anyway.',
    });
  }
  const connection = await resolveCliConnection({
    url: args.connection,
    cloud: await chosenCloud(args, io.env),
    env: io.env,
  });
  const token = await connection.getToken();
  if (args.flag('json')) {
    const expiresAtMs = connection.token?.expiresAtMs();
    const expiresAt = expiresAtMs === undefined ? null : new Date(expiresAtMs).toISOString();
    io.stdout.write(`${JSON.stringify({ user: connection.user, expiresAt, token })}\n`);
  } else if (args.flag('url')) {
    const { host, port, database } = connection.target;
    const sslrootcert =
      typeof connection.ca === 'object' && 'file' in connection.ca ? connection.ca.file : undefined;
    const url = libpqUrl({
      host,
      port,
      database,
      user: connection.user,
      password: token,
      sslmode: connection.sslmode,
      sslrootcert,
    });
    io.stdout.write(`${url}\n`);
  } else {
    io.stdout.write(`${token}\n`);
  }
  return 0;
}
