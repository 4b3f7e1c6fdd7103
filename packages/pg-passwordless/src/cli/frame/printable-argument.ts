import { PasswordlessError, printable } from '../../core/errors.ts';

/**
 * A command-line argument quoted for an error message, without anything after its first "=": that
 * may be a connection string (`--url=postgresql://app:s3cret@db/orders`) or, when the shell split an
 * unquoted key/value string, a `password=...` of its own.
 *
 * @example
 * console.log(printableArgument('--jsn')); // "--jsn"
 * console.log(printableArgument('--url=postgresql://app:s3cret@db/orders')); // "--url=…"
 * console.log(printableArgument('password=s3cret')); // "password=…"
 */
export function printableArgument(arg: string): string {
  return printable(withoutValue(arg));
}

/**
 * The argument up to its first "=", then "…" (as printableArgument, for a message that shows it at any
 * length: a command's path).
 *
 * @example
 * console.log(withoutValue('/usr/lib/postgresql/15/bin/pg_dump')); // /usr/lib/postgresql/15/bin/pg_dump
 * console.log(withoutValue('password=s3cret')); // password=…
 */
export function withoutValue(arg: string): string {
  const equals = arg.indexOf('=');
  return equals < 0 ? arg : `${arg.slice(0, equals + 1)}…`;
}

/**
 * The error for a second connection string. It is not shown: it is most likely a piece of a key/value
 * string that the shell split at a blank (`token host=db password=s3cret`), a password perhaps.
 *
 * @example
 * const error = extraConnectionStringError('token');
 * console.log(error.code, error.hint); // CONFIG_INVALID Quote a key/value connection string as one argument: ...
 */
export function extraConnectionStringError(command: string): PasswordlessError {
  return new PasswordlessError(
    'CONFIG_INVALID',
    `"${command}" takes one connection string, and was given a second argument that is not an option (not shown: it may hold a password).`,
    {
      hint: `Quote a key/value connection string as one argument: pg-passwordless ${command} "host=<server> dbname=<database> user=<role>".`,
    },
  );
}
