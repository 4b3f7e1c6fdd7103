import { join } from 'node:path';
import { parseConnectionUrl, redactUrl } from '../core/connection-url.ts';
import { PasswordlessError } from '../core/errors.ts';
import type { Backend } from './backend.ts';
import { findPostgresBinaries } from './backend-postgres.ts';
import { runPsql } from './psql.ts';

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
  const admin = {
    host: target.host,
    port: target.port,
    user: target.user ?? 'postgres',
    database,
    password,
    sslmode: target.params.sslmode ?? 'prefer',
  };
  const psql = async (sql: string): Promise<string[][]> => {
    try {
      return await runPsql(psqlPath, admin, sql);
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
