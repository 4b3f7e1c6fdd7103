import type { Io } from './io.ts';
import {
  type OptionsConfig,
  type ParsedArgs,
  type PositionalsKind,
  parseCommandArgs,
  type UsageErrorFactory,
} from './parsed-args.ts';

/** One command of a bin: its options, its help, and what it does. */
export interface Command {
  /** The word that runs it: `token`; empty for a bin's only command. */
  name: string;
  /** One line for the bin's own help. */
  summary: string;
  options: OptionsConfig;
  positionals: PositionalsKind;
  /** The full `--help` text (it may list what only the environment knows, the registered clouds). */
  help(io: Io): string | Promise<string>;
  /** Runs with parsed arguments; resolves with the exit code. Errors are thrown, the bin prints them. */
  run(args: ParsedArgs, io: Io): Promise<number>;
  /** The error a bad argument gets (PasswordlessError CONFIG_INVALID by default). */
  usageError?: UsageErrorFactory;
}

/**
 * Defines a command; `-h` and `--help` are added to its options.
 *
 * @example
 * const hello = defineCommand({
 *   name: 'hello',
 *   summary: 'say hello',
 *   options: { name: { type: 'string' } },
 *   positionals: 'none',
 *   help: () => 'Usage: demo hello [--name NAME]',
 *   run: async (args, io) => {
 *     io.stdout.write(`hello ${args.text('name') ?? 'world'}\n`);
 *     return 0;
 *   },
 * });
 * console.log(await runCommand('demo', hello, ['--name', 'orders'], { stdout: process.stdout, stderr: process.stderr, env: {} })); // hello orders, then 0
 */
export function defineCommand(command: Command): Command {
  return {
    ...command,
    options: { ...command.options, help: { type: 'boolean', short: 'h' } },
  };
}

/**
 * Runs one command: its help when asked, else its arguments parsed and validated, then the command.
 * `bin` names the program in messages and hints (`pg-passwordless`).
 */
export async function runCommand(bin: string, command: Command, args: string[], io: Io): Promise<number> {
  const usage = command.name ? `${bin} ${command.name}` : bin;
  const parsed = parseCommandArgs(args, {
    usage,
    options: command.options,
    positionals: command.positionals,
  });
  if (parsed.flag('help')) {
    io.stdout.write(`${await command.help(io)}\n`);
    return 0;
  }
  return command.run(parsed, io);
}
