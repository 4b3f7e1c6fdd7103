import { PasswordlessError } from '../core/errors.ts';
import { loadPeer } from '../plugins/load-peer.ts';

const HELP = `Usage: pg-passwordless <command> [options]

Commands:
  emulator    run the local cloud (identity endpoints + PostgreSQL gateway) for tests and demos;
              needs the package pg-passwordless-emulator (npm install --save-dev pg-passwordless-emulator)
  help        show this help

Run "pg-passwordless <command> --help" for a command's options.`;

/** What this CLI uses of the emulator package, which stays an optional peer. */
interface EmulatorCli {
  runEmulatorCommand(
    args: string[],
    io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream },
  ): Promise<number>;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'emulator': {
      const emulator = await loadPeer<EmulatorCli>('pg-passwordless-emulator', '`pg-passwordless emulator`');
      return emulator.runEmulatorCommand(rest, { stdout: process.stdout, stderr: process.stderr });
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${HELP}\n`);
      return 0;
    default:
      process.stderr.write(`pg-passwordless: unknown command "${command}"\n\n${HELP}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
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
