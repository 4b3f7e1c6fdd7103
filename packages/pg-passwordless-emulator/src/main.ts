import { PasswordlessError } from 'pg-passwordless';
import { runEmulatorCommand } from './cli.ts';

// The pg-passwordless-emulator command (bin/pg-passwordless-emulator.js); `pg-passwordless emulator` runs the same.
runEmulatorCommand(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof PasswordlessError) {
      process.stderr.write(`pg-passwordless-emulator: ${error.code}: ${error.message}\n`);
    } else {
      process.stderr.write(`pg-passwordless-emulator: ${(error as Error)?.stack ?? String(error)}\n`);
    }
    process.exitCode = 1;
  },
);
