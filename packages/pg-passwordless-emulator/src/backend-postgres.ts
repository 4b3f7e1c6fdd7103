import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { PasswordlessError } from 'pg-passwordless';
import type { Backend } from './backend.ts';
import { freePort } from './free-port.ts';
import { runPsql } from './psql.ts';

const run = promisify(execFile);

/** The folder holding initdb, pg_ctl and psql, or undefined when PostgreSQL is not installed. */
export function findPostgresBinaries(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates = [env.PG_PASSWORDLESS_PG_BINDIR, ...(env.PATH ?? '').split(':')].filter(
    Boolean,
  ) as string[];
  for (const dir of candidates) {
    // /usr/local/bin may hold only links: the real folder also has psql.
    if (existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl')))
      return dirname(realpathSync(join(dir, 'initdb')));
  }
  const debianRoot = '/usr/lib/postgresql';
  if (existsSync(debianRoot)) {
    const versions = readdirSync(debianRoot).sort((a, b) => Number(b) - Number(a));
    for (const version of versions) {
      const dir = join(debianRoot, version, 'bin');
      if (existsSync(join(dir, 'initdb'))) return dir;
    }
  }
  return undefined;
}

/**
 * A private PostgreSQL cluster in a temporary folder on a free loopback port, trusting local logins
 * (only the gateway connects to it), removed again by `stop()`. As root, it runs as the `postgres` OS
 * user, since initdb refuses to run as root.
 *
 * @example
 * const backend = await startPostgresBackend(); // needs PostgreSQL installed (initdb, pg_ctl, psql)
 * await backend.adminSql('create role app login');
 * console.log(await backend.adminSql("select rolcanlogin from pg_roles where rolname = 'app'")); // [['t']]
 * await backend.stop(); // the cluster and its folder are gone
 */
export async function startPostgresBackend(binDir = findPostgresBinaries()): Promise<Backend> {
  if (!binDir) {
    throw new PasswordlessError('EMULATOR_FAILED', 'No PostgreSQL installation was found (initdb, pg_ctl).', {
      hint: 'Install PostgreSQL (apt-get install postgresql), set PG_PASSWORDLESS_PG_BINDIR, or use --backend pglite.',
    });
  }
  const folder = mkdtempSync(join(tmpdir(), 'pg-passwordless-pg-'));
  const dataDir = join(folder, 'data');
  const asRoot = process.getuid?.() === 0;
  // initdb refuses root; the cluster then belongs to the postgres OS user.
  const asOwner = (command: string, args: string[]): [string, string[]] =>
    asRoot
      ? ['runuser', ['-u', 'postgres', '--', join(binDir, command), ...args]]
      : [join(binDir, command), args];
  if (asRoot) execFileSync('chown', ['postgres', folder]);
  const port = await freePort();
  const stopCluster = () => {
    try {
      execFileSync(...asOwner('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']), {
        stdio: 'ignore',
      });
    } catch {
      // already stopped
    }
    rmSync(folder, { recursive: true, force: true });
  };
  try {
    await run(
      ...asOwner('initdb', [
        '-D',
        dataDir,
        '-A',
        'trust',
        '-U',
        'postgres',
        '-E',
        'UTF8',
        '--locale=C',
        '--no-sync',
      ]),
    );
    const serverOptions = `-p ${port} -k ${folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
    await run(
      ...asOwner('pg_ctl', [
        '-D',
        dataDir,
        '-o',
        serverOptions,
        '-l',
        join(folder, 'server.log'),
        '-w',
        'start',
      ]),
    );
  } catch (cause) {
    stopCluster();
    throw new PasswordlessError('EMULATOR_FAILED', 'The private PostgreSQL cluster did not start.', {
      cause,
      hint: 'See the cause for initdb / pg_ctl output.',
    });
  }
  // A safety net: a crashed parent must not leave a server running.
  const onExit = () => stopCluster();
  process.once('exit', onExit);
  const admin = { host: '127.0.0.1', port, user: 'postgres', database: 'postgres' };
  const psql = (sql: string) => runPsql(join(binDir, 'psql'), admin, sql);
  return {
    kind: 'postgres',
    host: '127.0.0.1',
    port,
    database: 'postgres',
    loginParameters: (role, database) => ({ user: role, database }),
    afterLoginSql: () => undefined,
    adminSql: psql,
    describe: () => `PostgreSQL (${binDir}) at 127.0.0.1:${port}`,
    stop: async () => {
      process.off('exit', onExit);
      stopCluster();
    },
  };
}
