import { runEmulatorCommand } from './cli.ts';

// The pg-passwordless-emulator command (bin/pg-passwordless-emulator.js); `pg-passwordless emulator` runs the same.
runEmulatorCommand(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }).then((code) => {
  process.exitCode = code;
});
