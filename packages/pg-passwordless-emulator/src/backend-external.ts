import { join } from 'node:path';
import { parseAdminUrl, redactAdminUrl } from './admin-url.ts';
import type { Backend } from './backend.ts';
import { findPostgresBinaries } from './backend-postgres.ts';
import { EmulatorError } from './emulator-error.ts';
import { runPsql } from './psql.ts';

/**
 * A PostgreSQL the user already runs, given by an admin URL. The emulator creates its roles there with
 * psql (the password goes through PGPASSWORD, never the command line), and the gateway logs sessions in
 * as those roles without a password: the server must trust the gateway for them, best on a Unix socket
 * only this OS user can reach (`?host=/socket/folder` in the URL, a `local ... trust` line), as the
 * private cluster does; a `trust` line for 127.0.0.1 lets every local user in. Nothing is removed at stop.
 *
 * @example
 * // Any PostgreSQL with a superuser URL; here an embedded PGlite served over TCP, without TLS.
 * const { PGlite } = await import('@electric-sql/pglite');
 * const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
 * const db = await PGlite.create();
 * const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0 });
 * await server.start();
 * const adminUrl = `postgresql://postgres@${server.getServerConn()}/postgres?sslmode=disable`;
 * const backend = await startExternalBackend(adminUrl);
 * console.log(backend.describe()); // PostgreSQL at 127.0.0.1:<port> (given by URL)
 * console.log(await backend.adminSql('select 1 + 1')); // [ [ '2' ] ]
 * await backend.stop(); // leaves that server as it was
 * await server.stop();
 * await db.close();
 */
export async function startExternalBackend(adminUrl: string): Promise<Backend> {
  const admin = parseAdminUrl(adminUrl);
  const binDir = findPostgresBinaries();
  const psqlPath = binDir ? join(binDir, 'psql') : 'psql';
  const psql = async (sql: string): Promise<string[][]> => {
    try {
      return await runPsql(psqlPath, admin, sql);
    } catch (cause) {
      throw new EmulatorError(
        'EMULATOR_FAILED',
        `psql could not run on the backend ${redactAdminUrl(adminUrl)}.`,
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
    host: admin.host,
    port: admin.port,
    database: admin.database,
    loginParameters: (role, requested, clientSettings) => ({
      ...clientSettings,
      user: role,
      database: requested,
    }),
    afterLoginSql: () => undefined,
    adminSql: psql,
    describe: () => `PostgreSQL at ${admin.host}:${admin.port} (given by URL)`,
    stop: async () => {},
  };
}
