/**
 * The command frame of both bins (`pg-passwordless` and `pg-passwordless-emulator`): `node:util`'s
 * parseArgs behind one validator per option kind, one Io, one way to load and run a command, and the
 * supervisor that ties a child server (PostgreSQL, PgBouncer) to the life of the command that started it.
 * For tools built on pg-passwordless; nothing here knows a cloud.
 */
export { type Bin, type RawCommand, runBin } from './bin.ts';
export { type Command, defineCommand, runCommand } from './command.ts';
export { type Io, processIo } from './io.ts';
export {
  type OptionsConfig,
  type ParsedArgs,
  type PositionalsKind,
  parseCommandArgs,
  type UsageErrorFactory,
} from './parsed-args.ts';
export { printableArgument, withoutValue } from './printable-argument.ts';
export { startWatched, type Watched, type WatchOptions } from './watchdog.ts';
