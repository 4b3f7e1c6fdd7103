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
 * await runPsql('/usr/lib/postgresql/15/bin/psql', { host: '127.0.0.1', port, user: 'postgres', database: 'postgres' }, 'select 1');
 * // [['1']]
 */
export async function runPsql(psqlPath: string, target: PsqlTarget, sql: string): Promise<string[][]> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
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
