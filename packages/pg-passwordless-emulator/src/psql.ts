import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Where psql connects; passed in its environment, so a password never shows in a process list. */
export interface PsqlTarget {
  host: string;
  port: number;
  user: string;
  database: string;
  password?: string;
  sslmode?: string;
}

/**
 * Runs SQL with psql as an administrator and returns the last statement's rows as text (unaligned,
 * tab-separated, no headers). Stops at the first error.
 *
 * @example
 * // Any PostgreSQL; here an embedded PGlite served over TCP, without TLS.
 * const { PGlite } = await import('@electric-sql/pglite');
 * const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
 * const db = await PGlite.create();
 * const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0 });
 * await server.start();
 * const port = Number(server.getServerConn().split(':')[1]);
 * const target = { host: '127.0.0.1', port, user: 'postgres', database: 'postgres', sslmode: 'disable' };
 * console.log(await runPsql('psql', target, "select 1, 'one'")); // [ [ '1', 'one' ] ]
 * await server.stop();
 * await db.close();
 */
export async function runPsql(psqlPath: string, target: PsqlTarget, sql: string): Promise<string[][]> {
  // Only the target below: libpq variables of this process (PGSSLMODE, PGSSLROOTCERT, PGPASSWORD, ... of a
  // shell set up as a client, for instance of an emulator) would otherwise redirect or break the admin login.
  const inherited = Object.entries(process.env).filter(([name]) => !/^PG[A-Z]/.test(name));
  const env: NodeJS.ProcessEnv = {
    ...Object.fromEntries(inherited),
    PGHOST: target.host,
    PGPORT: String(target.port),
    PGUSER: target.user,
    PGDATABASE: target.database,
  };
  if (target.password !== undefined) env.PGPASSWORD = target.password;
  if (target.sslmode !== undefined) env.PGSSLMODE = target.sslmode;
  const { stdout } = await run(
    psqlPath,
    ['-X', '-q', '-A', '-t', '-F', '\t', '-v', 'ON_ERROR_STOP=1', '-c', sql],
    { env },
  );
  return stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.split('\t'));
}
