import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PasswordlessError } from 'pg-passwordless';
import { freePort } from './free-port.ts';

/** A running PgBouncer in transaction-pooling mode, as Azure's built-in one on port 6432. */
export interface Pgbouncer {
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
 * Azure's built-in PgBouncer passes Entra logins through to the server.
 *
 * @example
 * // Needs the pgbouncer binary (apt-get install pgbouncer); the backend is a PostgreSQL that trusts it.
 * if (findPgbouncer()) {
 *   const bouncer = await startPgbouncer({ host: '127.0.0.1', port: 5432 }, ['orders-api']);
 *   bouncer.addUser('reports'); // a role created later
 *   console.log(bouncer.host); // 127.0.0.1: a gateway backend is { host: bouncer.host, port: bouncer.port }
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
    throw new PasswordlessError('EMULATOR_FAILED', 'PgBouncer is not installed.', {
      hint: 'Install it (apt-get install pgbouncer), or start the emulator without the PgBouncer port.',
    });
  }
  const folder = mkdtempSync(join(tmpdir(), 'pg-passwordless-pgbouncer-'));
  const port = await freePort();
  const authFile = join(folder, 'users.txt');
  const quote = (role: string) => `"${role.replaceAll('"', '""')}" ""\n`;
  writeFileSync(authFile, roles.map(quote).join(''));
  writeFileSync(
    join(folder, 'pgbouncer.ini'),
    [
      '[databases]',
      `* = host=${backend.host} port=${backend.port}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
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
  // PgBouncer refuses to run as root; its own -u switches user, so the child we signal is PgBouncer itself.
  const asRoot = process.getuid?.() === 0;
  if (asRoot) execFileSync('chown', ['-R', 'postgres', folder]);
  const args = asRoot ? ['-u', 'postgres', join(folder, 'pgbouncer.ini')] : [join(folder, 'pgbouncer.ini')];
  const child: ChildProcess = spawn(binary, args, { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const cleanUp = () => rmSync(folder, { recursive: true, force: true });
  try {
    await waitForPort(port, () => child.exitCode !== null);
  } catch (cause) {
    child.kill('SIGKILL');
    cleanUp();
    throw new PasswordlessError('EMULATOR_FAILED', 'PgBouncer did not start.', {
      cause,
      hint: 'Run pgbouncer by hand with the same settings to see why.',
    });
  }
  // A safety net: a crashed parent must not leave PgBouncer running.
  const onExit = () => child.kill('SIGKILL');
  process.once('exit', onExit);
  return {
    host: '127.0.0.1',
    port,
    addUser(role) {
      appendFileSync(authFile, quote(role));
      child.kill('SIGHUP'); // reloads the configuration and the auth_file
    },
    async stop() {
      process.off('exit', onExit);
      child.kill('SIGINT');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
      cleanUp();
    },
  };
}

async function waitForPort(port: number, gaveUp: () => boolean): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (gaveUp()) throw new Error('pgbouncer exited');
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nothing listens on port ${port} after 5 s`);
}
