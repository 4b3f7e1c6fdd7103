import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { startWatched, type Watched } from 'pg-passwordless/cli-frame';
import { EmulatorError } from './emulator-error.ts';
import { makeOwnedTempFolder } from './temp-folders.ts';

/** A running PgBouncer in transaction-pooling mode, as Azure's built-in one on port 6432. */
export interface Pgbouncer {
  /** The folder of its Unix socket (it listens on no TCP port), as libpq and the gateway read `host`. */
  host: string;
  port: number;
  /** Lets a role through (PgBouncer's trust mode still wants every user in its auth_file). */
  addUser(role: string): void;
  stop(): Promise<void>;
}

/** The pgbouncer binary, or undefined when it is not installed (Debian package `pgbouncer`). */
export function findPgbouncer(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dirs = [...(env.PATH ?? '').split(':'), '/usr/sbin', '/usr/local/sbin'];
  return dirs.map((dir) => join(dir, 'pgbouncer')).find((path) => existsSync(path));
}

/**
 * Starts PgBouncer between the gateway and the backend PostgreSQL, pooling per transaction. The gateway
 * has already checked the token; PgBouncer trusts it and logs in to the backend as the same role, as
 * Azure's built-in PgBouncer passes Entra logins through to the server. It trusts its clients, so it
 * listens only on a Unix socket in a private (0700) folder: nobody but this OS user (and root) can reach
 * it. It reaches a socket-only backend the same way, as the same OS user. A supervisor stops it when
 * this process ends, even by SIGKILL.
 *
 * @example
 * // Needs the pgbouncer binary (apt-get install pgbouncer); the backend is a PostgreSQL that trusts it.
 * if (findPgbouncer()) {
 *   const bouncer = await startPgbouncer({ host: '127.0.0.1', port: 5432 }, ['orders-api']);
 *   bouncer.addUser('reports'); // a role created later
 *   console.log(bouncer.host.startsWith('/')); // true: a gateway backend is { host: bouncer.host, port: bouncer.port }
 *   await bouncer.stop();
 * } else {
 *   console.log('PgBouncer is not installed');
 * }
 */
export async function startPgbouncer(
  backend: { host: string; port: number },
  roles: string[],
): Promise<Pgbouncer> {
  const binary = findPgbouncer();
  if (!binary) {
    throw new EmulatorError('EMULATOR_FAILED', 'PgBouncer is not installed.', {
      hint: 'Install it (apt-get install pgbouncer), or start the emulator without the PgBouncer port.',
    });
  }
  const folder = makeOwnedTempFolder('pgbouncer');
  // Names the socket only (.s.PGSQL.6432, Azure's PgBouncer port): the folder is private, nothing collides.
  const port = 6432;
  const authFile = join(folder, 'users.txt');
  const quote = (role: string) => `"${role.replaceAll('"', '""')}" ""\n`;
  writeFileSync(authFile, roles.map(quote).join(''));
  writeFileSync(
    join(folder, 'pgbouncer.ini'),
    [
      '[databases]',
      `* = host=${backend.host} port=${backend.port}`,
      '[pgbouncer]',
      'listen_addr =',
      `listen_port = ${port}`,
      `unix_socket_dir = ${folder}`,
      'unix_socket_mode = 0700',
      'auth_type = trust',
      `auth_file = ${authFile}`,
      'pool_mode = transaction',
      'max_client_conn = 500',
      'default_pool_size = 10',
      'ignore_startup_parameters = extra_float_digits,options,search_path',
      `logfile = ${join(folder, 'pgbouncer.log')}`,
      '',
    ].join('\n'),
  );
  // PgBouncer refuses to run as root; as root it runs as the postgres OS user, the backend's owner.
  const owner = process.getuid?.() === 0 ? 'postgres' : undefined;
  if (owner) execFileSync('chown', ['-R', owner, folder]);
  let bouncer: Watched | undefined;
  const socketPath = join(folder, `.s.PGSQL.${port}`);
  try {
    // TERM: an immediate shutdown up to PgBouncer 1.22; later ones wait for clients, whom the gateway has closed.
    bouncer = await startWatched(binary, [join(folder, 'pgbouncer.ini')], {
      stopSignal: 'TERM',
      logFile: join(folder, 'output.log'),
      removeFolder: folder,
      runAs: owner,
    });
    const started = bouncer;
    await waitForSocket(socketPath, () => started.hasExited());
  } catch (cause) {
    await bouncer?.stop();
    rmSync(folder, { recursive: true, force: true });
    throw new EmulatorError('EMULATOR_FAILED', 'PgBouncer did not start.', {
      cause,
      hint: 'Run pgbouncer by hand with the same settings to see why.',
    });
  }
  const running = bouncer;
  return {
    host: folder,
    port,
    addUser(role) {
      appendFileSync(authFile, quote(role));
      process.kill(running.pid, 'SIGHUP'); // reloads the configuration and the auth_file
    },
    async stop() {
      await running.stop();
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

async function waitForSocket(path: string, gaveUp: () => boolean): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (gaveUp()) throw new Error('pgbouncer exited');
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(path, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nothing listens on ${path} after 5 s`);
}
