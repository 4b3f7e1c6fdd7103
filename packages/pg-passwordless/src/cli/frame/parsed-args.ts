import { type ParseArgsConfig, parseArgs } from 'node:util';
import { PasswordlessError, printable } from '../../core/errors.ts';
import { extraConnectionStringError, printableArgument } from './printable-argument.ts';

/** A command's options, as `node:util`'s parseArgs takes them (`help` is added by the frame). */
export type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

/**
 * What a command takes besides its options: nothing; one connection string (never shown in an error:
 * a second one is most likely a piece of a key/value string the shell split, a password perhaps);
 * several connection strings, each a URL when there are several (a key/value string only alone, so
 * that the pieces of one the shell split are never taken for targets, nor shown); or a command line of
 * its own after the options (`exec -- psql ...`).
 */
export type PositionalsKind = 'none' | 'connection' | 'connections' | 'command';

/** Makes the error for a bad argument (CONFIG_INVALID): each bin reports with its own error class. */
export type UsageErrorFactory = (message: string, hint: string) => Error;

const libraryUsageError: UsageErrorFactory = (message, hint) =>
  new PasswordlessError('CONFIG_INVALID', message, { hint });

/**
 * A command's arguments, parsed by `node:util`'s parseArgs and read through one validator per option
 * kind, so every command refuses bad values with the same words, code (CONFIG_INVALID) and hint.
 */
export interface ParsedArgs {
  /** A boolean option: given or not. */
  flag(name: string): boolean;
  /** A string option, as given. */
  text(name: string): string | undefined;
  /** A string option that may be repeated, every value in order. */
  texts(name: string): string[];
  /** A whole number within a range (`--port 70000` and `--port 1.5` are refused). */
  wholeNumber(name: string, range: { min: number; max: number }): number | undefined;
  /** A number, decimals allowed, within a range (`--shutdown-grace 1.5`). */
  decimal(name: string, range: { min: number; max: number }): number | undefined;
  /** One of a fixed list of words. */
  oneOf<T extends string>(name: string, allowed: readonly T[]): T | undefined;
  /** The connection string, when the command takes one (the first, when it takes several). */
  connection: string | undefined;
  /** Every connection string given, in order (`connections` positionals; else the one or none). */
  connections: string[];
  /** The command line after the options (`command` positionals only). */
  command: string[];
  /** The arguments as given (for a command that starts itself again, detached). */
  given: string[];
  /** An error for this command, with its hint to run --help. */
  error(message: string, hint?: string): Error;
}

/**
 * Parses a command's arguments: parseArgs's tokens, checked (an unknown option, a missing value or a
 * value a flag does not take is refused without showing anything after a "="), then read through
 * {@link ParsedArgs}. `usage` names the command in hints: `pg-passwordless proxy`.
 *
 * @example
 * const args = parseCommandArgs(['--listen', '6432', 'postgresql://app@db/orders'], {
 *   usage: 'pg-passwordless proxy',
 *   options: { listen: { type: 'string' }, 'max-sessions': { type: 'string' } },
 *   positionals: 'connection',
 * });
 * console.log(args.text('listen'), args.connection, args.wholeNumber('max-sessions', { min: 1, max: 10 })); // 6432 postgresql://app@db/orders undefined
 */
export function parseCommandArgs(
  args: string[],
  spec: {
    usage: string;
    options: OptionsConfig;
    positionals: PositionalsKind;
    usageError?: UsageErrorFactory;
  },
): ParsedArgs {
  const name = spec.usage.split(' ').at(-1) as string;
  const hint = `Run "${spec.usage} --help".`;
  const makeError = spec.usageError ?? libraryUsageError;
  const error = (message: string, more?: string) => makeError(message, more ?? hint);
  const own = spec.positionals === 'command' ? optionsBeforeCommand(args, spec.options) : args.length;
  const { values, tokens } = parseArgs({
    args: args.slice(0, own),
    options: spec.options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const positionals: string[] = [];
  for (const token of tokens) {
    if (token.kind === 'positional') positionals.push(token.value);
    if (token.kind !== 'option') continue;
    const option = spec.options[token.name];
    if (!option) {
      const given = token.inlineValue ? `${token.rawName}=${token.value}` : token.rawName;
      throw error(`Unknown option ${printableArgument(given)} for "${name}".`);
    }
    if (option.type === 'string' && (token.value === undefined || token.value === ''))
      throw error(`${token.rawName} needs a value.`);
    if (option.type === 'boolean' && token.inlineValue) throw error(`${token.rawName} takes no value.`);
  }
  const command =
    spec.positionals === 'command' ? args.slice(own).filter((arg, index) => index > 0 || arg !== '--') : [];
  if (spec.positionals === 'connection' && positionals.length > 1) throw extraConnectionStringError(name);
  if (spec.positionals === 'connections') checkSeveralConnections(positionals, name, error);
  if (spec.positionals === 'none' && positionals.length > 0)
    throw error(`"${name}" takes no arguments besides its options (the one given is not shown).`);
  const connections = spec.positionals === 'command' ? [] : positionals;
  return { ...readArgs(values, connections, command, error), given: [...args] };
}

/**
 * Several connection strings must each be a URL: the words of a key/value string that the shell split
 * (`host=db password=s3cret`) would otherwise pass for targets. The one refused is named by its place
 * only, as it may hold a password.
 */
function checkSeveralConnections(
  positionals: string[],
  name: string,
  error: (message: string, more?: string) => Error,
): void {
  if (positionals.length < 2) return;
  const notUrl = positionals.findIndex((value) => !/^postgres(ql)?:\/\//i.test(value));
  if (notUrl < 0) return;
  throw error(
    `"${name}" takes several targets as postgresql:// URLs, and argument ${notUrl + 1} of ${positionals.length} is not one (not shown: it may hold a password).`,
    `Write each target as a URL (postgresql://<role>@<host>/<database>); a key/value string goes alone, quoted as one argument: pg-passwordless ${name} "host=<server> dbname=<database> user=<role>".`,
  );
}

/**
 * Where the command line of `exec` starts: after `--`, or at the first word that is not an option or an
 * option's value, as parseArgs's tokens tell.
 */
function optionsBeforeCommand(args: string[], options: OptionsConfig): number {
  const { tokens } = parseArgs({ args, options, strict: false, allowPositionals: true, tokens: true });
  const first = tokens.find((token) => token.kind === 'positional' || token.kind === 'option-terminator');
  return first ? first.index : args.length;
}

function readArgs(
  values: Record<string, string | boolean | Array<string | boolean> | undefined>,
  connections: string[],
  command: string[],
  error: (message: string, hint?: string) => Error,
): Omit<ParsedArgs, 'given'> {
  const raw = (name: string): string | undefined => {
    const value = values[name];
    return typeof value === 'string' ? value : Array.isArray(value) ? (value.at(-1) as string) : undefined;
  };
  const number = (name: string, pattern: RegExp, range: { min: number; max: number }, kind: string) => {
    const value = raw(name);
    if (value === undefined) return undefined;
    const parsed = Number(value);
    if (!pattern.test(value) || parsed < range.min || parsed > range.max) {
      const upTo = Number.isFinite(range.max) ? ` to ${range.max}` : ' up';
      throw error(`--${name} must be ${kind} from ${range.min}${upTo}, not ${printable(value)}.`);
    }
    return parsed;
  };
  return {
    flag: (name) => values[name] === true,
    text: raw,
    texts: (name) => {
      const value = values[name];
      return Array.isArray(value) ? (value as string[]) : typeof value === 'string' ? [value] : [];
    },
    wholeNumber: (name, range) => number(name, /^\d+$/, range, 'a whole number'),
    decimal: (name, range) => number(name, /^\d+(\.\d+)?$/, range, 'a number'),
    oneOf: (name, allowed) => {
      const value = raw(name);
      if (value === undefined) return undefined;
      if (!allowed.includes(value as never))
        throw error(`--${name} must be one of ${allowed.join(', ')}, not ${printable(value)}.`);
      return value as (typeof allowed)[number];
    },
    connection: connections[0],
    connections,
    command,
    error,
  };
}
