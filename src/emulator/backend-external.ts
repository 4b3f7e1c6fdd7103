import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseConnectionUrl, redactUrl } from '../core/connection-url.ts';
import { PasswordlessError } from '../core/errors.ts';
import type { Backend } from './backend.ts';
import { findPostgresBinaries } from './backend-postgres.ts';

const run = promisify(execFile);

/**
 * A PostgreSQL the user already runs, given by an admin URL. The emulator creates its roles there with
 * psql (the password goes through PGPASSWORD, never the command line), and the gateway logs sessions in
 * as those roles without a password: the server must trust the gateway's address for them (a `trust`
 * line for 127.0.0.1 in pg_hba.conf), as the private cluster does. Nothing is removed at stop.
 *
 * @example
 * const backend = await startExternalBackend('postgresql://postgres@127.0.0.1:5432/postgres');
 */
export async function startExternalBackend(adminUrl: string): Promise<Backend> {
  const target = parseConnectionUrl(adminUrl, {});
  const password = decodeURIComponent(new URL(adminUrl).password);
  const binDir = findPostgresBinaries();
  const psqlPath = binDir ? join(binDir, 'psql') : 'psql';
  const database = target.database ?? 'postgres';
  const psql = async (sql: string): Promise<string[][]> => {
    const env = {
      ...process.env,
      PGHOST: target.host,
      PGPORT: String(target.port),
      PGUSER: target.user ?? 'postgres',
      PGDATABASE: database,
      PGPASSWORD: password,
      PGSSLMODE: target.params.sslmode ?? 'prefer',
    };
    try {
      const { stdout } = await run(
        psqlPath,
        ['-X', '-q', '-A', '-t', '-F', '\t', '-v', 'ON_ERROR_STOP=1', '-c', sql],
        { env },
      );
      return stdout
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => line.split('\t'));
    } catch (cause) {
      throw new PasswordlessError(
        'EMULATOR_FAILED',
        `psql could not run on the backend ${redactUrl(adminUrl)}.`,
        {
          cause,
          hint: 'Check the admin URL (a superuser), and that psql is installed.',
        },
      );
    }
  };
  await psql('select 1');
  return {
    kind: 'postgres',
    host: target.host,
    port: target.port,
    database,
    loginParameters: (role, requested) => ({ user: role, database: requested }),
    afterLoginSql: () => undefined,
    adminSql: psql,
    describe: () => `PostgreSQL at ${target.host}:${target.port} (given by URL)`,
    stop: async () => {},
  };
}
