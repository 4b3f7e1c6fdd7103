#!/usr/bin/env node
import { PasswordlessError } from '../core/errors.ts';
import { EMULATOR_HELP, runEmulatorCommand } from './emulator-command.ts';

const HELP = `Usage: pg-passwordless <command> [options]

Commands:
  emulator    run a local Azure-like cloud (identity endpoints + PostgreSQL gateway) for tests and demos
  help        show this help

Run "pg-passwordless <command> --help" for a command's options.`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'emulator':
      return runEmulatorCommand(rest, { stdout: process.stdout, stderr: process.stderr });
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${HELP}\n\n${EMULATOR_HELP}\n`);
      return 0;
    default:
      process.stderr.write(`pg-passwordless: unknown command "${command}"\n\n${HELP}\n`);
      return 2;
  }
}

// bin/pg-passwordless puts "--" first so that Node itself leaves our flags alone.
const argv = process.argv.slice(2);
main(argv[0] === '--' ? argv.slice(1) : argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof PasswordlessError) {
      process.stderr.write(`pg-passwordless: ${error.code}: ${error.message}\n`);
    } else {
      process.stderr.write(`pg-passwordless: ${(error as Error)?.stack ?? String(error)}\n`);
    }
    process.exitCode = 1;
  },
);
