import { type Command, runCommand } from './command.ts';
import type { Io } from './io.ts';

/** A command that takes its arguments as they are. */
export type RawCommand = (args: string[], io: Io) => Promise<number>;

/** A bin: its name, version, and its commands, each loaded only when it runs. */
export interface Bin {
  name: string;
  version: string;
  /** One line under "Usage:" in the help. */
  synopsis: string;
  /**
   * The commands by name, in the order the help lists them, each with its summary and loader. A loader
   * may give a plain function instead of a command: it gets the arguments as they are (a pass-through
   * to another bin).
   */
  commands: ReadonlyArray<{ name: string; summary: string; load(): Promise<Command | RawCommand> }>;
  /** The command that runs when the first word is none of them (the emulator's bin starts it). */
  fallback?: string;
  /** Lines after the command list. */
  footer?: string;
}

/**
 * Runs a bin: `help` (also no arguments, `-h`, `--help`), `version` (also `--version`, `-V`), or one
 * of its commands, loaded on demand. Errors with a stable code (PasswordlessError and its kind) are
 * printed as `bin: CODE: message` and its hint, without a stack; anything else is a bug and keeps its
 * stack. Resolves with the exit code: the command's, 1 for an error, 2 for an unknown command.
 *
 * @example
 * const bin: Bin = {
 *   name: 'demo',
 *   version: '1.0.0',
 *   synopsis: 'demo <command>',
 *   commands: [{ name: 'hello', summary: 'say hello', load: async () => { throw new Error('not run here'); } }],
 * };
 * console.log(await runBin(bin, ['--version'], { stdout: process.stdout, stderr: process.stderr, env: {} })); // demo 1.0.0, then 0
 */
export async function runBin(bin: Bin, argv: string[], io: Io): Promise<number> {
  const [word, ...rest] = argv;
  try {
    if (word === 'version' || word === '--version' || word === '-V') {
      io.stdout.write(`${bin.name} ${bin.version}\n`);
      return 0;
    }
    const named = bin.commands.find((command) => command.name === word);
    const fallback = bin.commands.find((command) => command.name === bin.fallback);
    if (named) return await run(bin, await named.load(), rest, io);
    if (fallback && word !== 'help') return await run(bin, await fallback.load(), argv, io);
    if (word === undefined || word === 'help' || word === '--help' || word === '-h') {
      io.stdout.write(`${binHelp(bin)}\n`);
      return 0;
    }
    io.stderr.write(`${bin.name}: unknown command ${JSON.stringify(word.slice(0, 40))}\n\n${binHelp(bin)}\n`);
    return 2;
  } catch (error) {
    io.stderr.write(`${bin.name}: ${describeFailure(error)}\n`);
    return 1;
  }
}

function run(bin: Bin, command: Command | RawCommand, args: string[], io: Io): Promise<number> {
  return typeof command === 'function' ? command(args, io) : runCommand(bin.name, command, args, io);
}

/** `CODE: message` (the message carries its hint) for coded errors; the stack for anything else. */
function describeFailure(error: unknown): string {
  const coded = error as { code?: unknown; message?: unknown; stack?: unknown } | null;
  if (coded && typeof coded.code === 'string' && /^[A-Z_]+$/.test(coded.code) && 'hint' in coded)
    return `${coded.code}: ${String(coded.message)}`;
  return String(coded?.stack ?? error);
}

function binHelp(bin: Bin): string {
  const width = Math.max(...bin.commands.map((command) => command.name.length), 7) + 4;
  const lines = [
    `Usage: ${bin.synopsis}`,
    '',
    'Commands:',
    ...bin.commands.map(
      (command) =>
        `  ${command.name.padEnd(width)}${command.summary.replaceAll('\n', `\n  ${' '.repeat(width)}`)}`,
    ),
    `  ${'help'.padEnd(width)}show this help`,
    `  ${'version'.padEnd(width)}print the version (also --version, -V)`,
  ];
  return bin.footer ? `${lines.join('\n')}\n\n${bin.footer}` : lines.join('\n');
}
