import { PasswordlessError } from '../core/errors.ts';
import { type CliCloud, libpqUrl, parseCloud, resolveCliConnection } from './connection.ts';
import { extraConnectionStringError, printableArgument } from './printable-argument.ts';

const TOKEN_HELP = `Usage: pg-passwordless token [URL] [options]

Prints one current token for the target: URL, else DATABASE_URL, else PGHOST, PGPORT, PGUSER, PGDATABASE.
The token is the password; it is valid for a limited time (Azure about an hour, RDS 15 minutes, Cloud SQL
about an hour) and only for logins, so fetch it just before you connect:

  PGPASSWORD="$(pg-passwordless token)" psql
  pgAdmin: Server > Advanced > Password exec command: pg-passwordless token postgresql://<role>@<host>/<db>

Options:
  --json          print {"user","expiresAt","token"} instead
  --url           print a libpq URL with the token as its password (percent-encoded), sslmode and
                  sslrootcert (when a CA file is in use; the RDS bundle built into pg-passwordless is not a
                  file: set PGSSLROOTCERT to a downloaded bundle for libpq)
  --cloud NAME    switch on the azure, aws or gcp plugin (else PG_PASSWORDLESS_ENABLED=true and
                  PG_PASSWORDLESS_<CLOUD>_ENABLED=true choose)
  --force         print to a terminal too (refused by default: a token in scroll-back or on a shared
                  screen is a password anyone can use until it expires)
  -h, --help      show this help`;

/** The token command's flags. */
export interface TokenArgs {
  url: string | undefined;
  json: boolean;
  asUrl: boolean;
  force: boolean;
  cloud: CliCloud | undefined;
  help: boolean;
}

/**
 * Parses `pg-passwordless token`'s arguments; throws PasswordlessError(CONFIG_INVALID) on bad input.
 *
 * @example
 * console.log(parseTokenArgs(['postgresql://app@db.example.com/orders', '--json']).json); // true
 * console.log(parseTokenArgs(['--cloud', 'aws']).cloud); // aws
 */
export function parseTokenArgs(args: string[]): TokenArgs {
  const parsed: TokenArgs = {
    url: undefined,
    json: false,
    asUrl: false,
    force: false,
    cloud: undefined,
    help: false,
  };
  for (let index = 0; index < args.length; index++) {
    const arg = args[index] as string;
    if (arg === '--json') parsed.json = true;
    else if (arg === '--url') parsed.asUrl = true;
    else if (arg === '--force') parsed.force = true;
    else if (arg === '-h' || arg === '--help') parsed.help = true;
    else if (arg === '--cloud') parsed.cloud = parseCloud(args[++index]);
    else if (arg.startsWith('--cloud=')) parsed.cloud = parseCloud(arg.slice('--cloud='.length));
    else if (!arg.startsWith('-') && parsed.url === undefined) parsed.url = arg;
    else if (!arg.startsWith('-')) throw extraConnectionStringError('token');
    else {
      throw new PasswordlessError(
        'CONFIG_INVALID',
        `Unknown argument ${printableArgument(arg)} for "token".`,
        {
          hint: 'Run "pg-passwordless token --help".',
        },
      );
    }
  }
  if (parsed.json && parsed.asUrl) {
    throw new PasswordlessError('CONFIG_INVALID', '--json and --url cannot be used together.', {
      hint: 'Choose one output form.',
    });
  }
  return parsed;
}

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

type Io = { stdout: NodeJS.WritableStream & { isTTY?: boolean }; stderr: NodeJS.WritableStream };

/**
 * `pg-passwordless token [URL] [--json | --url] [--cloud NAME] [--force]`: prints one current token.
 * Resolves with the exit code; errors are thrown as PasswordlessError (the CLI prints code and hint).
 *
 * @example
 * let printed = '';
 * const out = { write: (text: string) => ((printed += text), true) } as NodeJS.WritableStream;
 * console.log(await runTokenCommand(['--json'], { stdout: out, stderr: process.stderr })); // 0
 * console.log(Object.keys(JSON.parse(printed))); // [ 'user', 'expiresAt', 'token' ]
 */
export async function runTokenCommand(args: string[], io: Io): Promise<number> {
  const options = parseTokenArgs(args);
  if (options.help) {
    io.stdout.write(`${TOKEN_HELP}\n`);
    return 0;
  }
  if (refusesTerminal(io.stdout, options.force)) {
    throw new PasswordlessError('CONFIG_INVALID', 'Refusing to print a token to a terminal.', {
      hint: 'Capture it (PGPASSWORD="$(pg-passwordless token)" psql) or pipe it; pass --force to print it here anyway.',
    });
  }
  const connection = await resolveCliConnection({ url: options.url, cloud: options.cloud });
  const token = await connection.getToken();
  if (options.json) {
    const expiresAtMs = connection.token?.expiresAtMs();
    const expiresAt = expiresAtMs === undefined ? null : new Date(expiresAtMs).toISOString();
    io.stdout.write(`${JSON.stringify({ user: connection.user, expiresAt, token })}\n`);
  } else if (options.asUrl) {
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
