import { runEmulatorCommand } from './cli.ts';

// The pg-passwordless-emulator command (bin/pg-passwordless-emulator.js); `pg-passwordless emulator` runs the same.
// runEmulatorCommand reports the emulator's own errors itself: what reaches here is unexpected, so its stack helps.
runEmulatorCommand(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`pg-passwordless-emulator: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
