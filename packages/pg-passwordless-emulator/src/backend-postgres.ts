import { execFile, execFileSync } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { startWatched, type Watched } from 'pg-passwordless/cli-frame';
import type { Backend } from './backend.ts';
import { EmulatorError } from './emulator-error.ts';
import { freePort } from './free-port.ts';
import { runPsql } from './psql.ts';
import { makeOwnedTempFolder } from './temp-folders.ts';

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
 * A private PostgreSQL cluster in a temporary folder, removed again by `stop()`. It listens on no TCP
 * port at all: only on a Unix socket in that folder (mode 0700), so only this OS user (and root) can
 * reach it, which is why it can trust local logins: the gateway logs sessions in there as their roles
 * without a password. `host` is the socket folder and `port` names the socket, as libpq reads them.
 * The postmaster runs under a supervisor that stops it when this process ends, even by SIGKILL. As
 * root, it runs as the `postgres` OS user, since initdb refuses to run as root.
 *
 * @example
 * const backend = await startPostgresBackend(); // needs PostgreSQL installed (initdb, postgres, psql)
 * await backend.adminSql('create role app login');
 * console.log(await backend.adminSql("select rolcanlogin from pg_roles where rolname = 'app'")); // [['t']]
 * console.log(backend.host.startsWith('/')); // true: a socket folder, no TCP address
 * await backend.stop(); // the cluster and its folder are gone
 */
export async function startPostgresBackend(binDir = findPostgresBinaries()): Promise<Backend> {
  if (!binDir) {
    throw new EmulatorError('EMULATOR_FAILED', 'No PostgreSQL installation was found (initdb, postgres).', {
      hint: 'Install PostgreSQL (apt-get install postgresql), set PG_PASSWORDLESS_PG_BINDIR, or use --backend pglite.',
    });
  }
  const folder = makeOwnedTempFolder('pg');
  // initdb refuses root; the cluster then belongs to the postgres OS user.
  const owner = process.getuid?.() === 0 ? 'postgres' : undefined;
  if (owner) execFileSync('chown', [owner, folder]);
  // Names the socket (.s.PGSQL.<port>); a port nothing listens on, so that a TCP attempt finds nothing.
  const port = await freePort();
  const cluster = { binDir, folder, port, owner };
  const server = await startCluster(cluster);
  const admin = { host: folder, port, user: 'postgres', database: 'postgres' };
  return {
    kind: 'postgres',
    host: folder,
    port,
    database: 'postgres',
    loginParameters: (role, database, clientSettings) => ({ ...clientSettings, user: role, database }),
    afterLoginSql: () => undefined,
    adminSql: (sql) => runPsql(join(binDir, 'psql'), admin, sql),
    describe: () => `PostgreSQL (${binDir}) on the Unix socket ${join(folder, `.s.PGSQL.${port}`)}`,
    stop: async () => {
      await server.stop();
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

/** Where a private cluster lives and who owns it. */
interface ClusterPlace {
  binDir: string;
  /** The temporary folder: data directory, socket and log. */
  folder: string;
  /** Names the socket. */
  port: number;
  /** The OS user that runs it, when not this process's. */
  owner: string | undefined;
}

/**
 * initdb, configuration, and the postmaster under its supervisor, until it is ready. On failure the
 * folder is removed and the error carries the end of the server log.
 */
async function startCluster(place: ClusterPlace): Promise<Watched> {
  const dataDir = join(place.folder, 'data');
  const logFile = join(place.folder, 'server.log');
  let server: Watched | undefined;
  try {
    await initCluster(place, dataDir);
    // QUIT is an immediate shutdown: nothing in this throwaway cluster needs a checkpoint.
    server = await startWatched(join(place.binDir, 'postgres'), ['-D', dataDir], {
      stopSignal: 'QUIT',
      logFile,
      removeFolder: place.folder,
      runAs: place.owner,
    });
    await waitUntilReady(dataDir, server);
    return server;
  } catch (cause) {
    const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-2_000) : '';
    await server?.stop();
    rmSync(place.folder, { recursive: true, force: true });
    throw new EmulatorError('EMULATOR_FAILED', 'The private PostgreSQL cluster did not start.', {
      cause: log ? new Error(log, { cause }) : cause,
      hint: 'See the cause for the initdb or server output.',
    });
  }
}

/** A new data directory that trusts local logins on the socket only, and listens on no TCP port. */
async function initCluster(place: ClusterPlace, dataDir: string): Promise<void> {
  const initdb = ['-D', dataDir, '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync'];
  await (place.owner
    ? run('runuser', ['-u', place.owner, '--', join(place.binDir, 'initdb'), ...initdb])
    : run(join(place.binDir, 'initdb'), initdb));
  // Only the socket: no host lines, so nothing is trusted over TCP even if someone turns TCP on.
  writeFileSync(join(dataDir, 'pg_hba.conf'), 'local all all trust\n');
  appendFileSync(
    join(dataDir, 'postgresql.conf'),
    [
      "listen_addresses = ''",
      `unix_socket_directories = '${place.folder}'`,
      'unix_socket_permissions = 0700',
      `port = ${place.port}`,
      'fsync = off',
      'max_connections = 200',
      '',
    ].join('\n'),
  );
}

/** Waits until postmaster.pid says `ready` (its 8th line, the postmaster's status), as pg_ctl -w does. */
async function waitUntilReady(dataDir: string, server: Watched): Promise<void> {
  for (let waitedMs = 0; waitedMs < 30_000; waitedMs += 50) {
    if (server.hasExited()) throw new Error('postgres exited during startup');
    try {
      const status = readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[7];
      if (status?.trim() === 'ready') return;
    } catch {
      // not written yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('postgres was not ready after 30 s');
}
