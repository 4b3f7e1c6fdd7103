import { loadPeer } from '../core/load-peer.ts';
import type { Bin } from './frame/bin.ts';
import type { Io } from './frame/io.ts';

/** What this CLI uses of the emulator package, which stays an optional peer. */
interface EmulatorCli {
  runEmulatorCommand(args: string[], io: Io): Promise<number>;
}

/**
 * The commands of `pg-passwordless`, each loaded only when it runs, so `token` loads no proxy code.
 * A new command is one file in this folder and one line here.
 */
export const COMMANDS: Bin['commands'] = [
  {
    name: 'doctor',
    summary: 'walk the path to the database step by step and say what works and what to fix',
    load: async () => (await import('./doctor-command.ts')).doctorCommand,
  },
  {
    name: 'emulator',
    summary:
      'run the local cloud (identity endpoints + PostgreSQL gateway) for tests and demos;\nneeds the package pg-passwordless-emulator (npm install --save-dev pg-passwordless-emulator)',
    // Its arguments are the emulator's own: handed over as they are.
    load: async () => async (args: string[], io: Io) => {
      // A dev dependency (tests, CI, demos), so the hint says --save-dev, as the README does.
      const emulator = await loadPeer<EmulatorCli>('pg-passwordless-emulator', '`pg-passwordless emulator`', {
        devDependency: true,
      });
      return emulator.runEmulatorCommand(args, io);
    },
  },
  {
    name: 'proxy',
    summary: 'a local PostgreSQL endpoint that logs each client in with a current token (pgAdmin, ...)',
    load: async () => (await import('./proxy-command.ts')).proxyCommand,
  },
  {
    name: 'pool',
    summary: 'PgBouncer for many clients, each server login with a current token (fleets, sidecars)',
    load: async () => (await import('./pool-command.ts')).poolCommand,
  },
  {
    name: 'token',
    summary: 'print a current token for the target (PGPASSWORD="$(pg-passwordless token)" psql)',
    load: async () => (await import('./token-command.ts')).tokenCommand,
  },
  {
    name: 'exec',
    summary: 'run a command with the connection and a password file kept current (-- psql, pgbench, ...)',
    load: async () => (await import('./exec-command.ts')).execCommand,
  },
];
