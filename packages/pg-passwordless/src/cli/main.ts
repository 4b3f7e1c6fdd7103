import { readFileSync } from 'node:fs';
import { PasswordlessError } from '../core/errors.ts';
import { loadPeer } from '../core/load-peer.ts';
import { runExecCommand } from './exec-command.ts';
import { runTokenCommand } from './token-command.ts';

const HELP = `Usage: pg-passwordless <command> [options]

Commands:
  doctor      walk the path to the database step by step and say what works and what to fix
  emulator    run the local cloud (identity endpoints + PostgreSQL gateway) for tests and demos;
              needs the package pg-passwordless-emulator (npm install --save-dev pg-passwordless-emulator)
  proxy       a local PostgreSQL endpoint that logs each client in with a current token (pgAdmin, ...)
  token       print a current token for the target (PGPASSWORD="$(pg-passwordless token)" psql)
  exec        run a command with the connection and a password file kept current (-- psql, pgbench, ...)
  help        show this help
  version     print the version (also --version, -V)

Run "pg-passwordless <command> --help" for a command's options.`;

/** What this CLI uses of the emulator package, which stays an optional peer. */
interface EmulatorCli {
  runEmulatorCommand(
    args: string[],
    io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream },
  ): Promise<number>;
}

/** The version of the installed package: src/cli/ and dist/cli/ both sit two folders below its package.json. */
function installedVersion(): string {
  const manifest = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  return (JSON.parse(manifest) as { version: string }).version;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'doctor':
      return (await import('./doctor.ts')).runDoctorCommand(rest, {
        stdout: process.stdout,
        stderr: process.stderr,
      });
    case 'emulator': {
      // A dev dependency (tests, CI, demos), so the hint says --save-dev, as the README does.
      const emulator = await loadPeer<EmulatorCli>('pg-passwordless-emulator', '`pg-passwordless emulator`', {
        devDependency: true,
      });
      return emulator.runEmulatorCommand(rest, { stdout: process.stdout, stderr: process.stderr });
    }
    case 'proxy':
      return (await import('./proxy-command.ts')).runProxyCommand(rest, {
        stdout: process.stdout,
        stderr: process.stderr,
      });
    case 'token':
      return runTokenCommand(rest, { stdout: process.stdout, stderr: process.stderr });
    case 'exec':
      return runExecCommand(rest, { stdout: process.stdout, stderr: process.stderr });
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${HELP}\n`);
      return 0;
    case 'version':
    case '--version':
    case '-V':
      process.stdout.write(`pg-passwordless ${installedVersion()}\n`);
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
