import { PasswordlessError } from '../core/errors.ts';
import type { Backend } from './backend.ts';
import { quoteIdentifier } from './wire.ts';

/**
 * The embedded backend: PGlite (PostgreSQL compiled to WebAssembly) served over TCP by
 * pglite-socket, so a machine with only Node runs the whole path. PGlite has one user and one shared
 * session behind a multiplexer: the gateway logs in as `postgres` and switches to the role with
 * `SET SESSION AUTHORIZATION`, so `current_user` shows the identity's role.
 */
export async function startPgliteBackend(): Promise<Backend> {
  let modules: [typeof import('@electric-sql/pglite'), typeof import('@electric-sql/pglite-socket')];
  try {
    modules = await Promise.all([import('@electric-sql/pglite'), import('@electric-sql/pglite-socket')]);
  } catch (cause) {
    throw new PasswordlessError('EMULATOR_FAILED', 'The embedded PGlite backend could not be loaded.', {
      cause,
      hint: 'Run npm install, or start the emulator with --backend postgres.',
    });
  }
  const [{ PGlite }, { PGLiteSocketServer }] = modules;
  const db = await PGlite.create();
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 200 });
  await server.start();
  const [host, port] = server.getServerConn().split(':');
  return {
    kind: 'pglite',
    host: host as string,
    port: Number(port),
    database: 'postgres',
    loginParameters: () => ({ user: 'postgres', database: 'postgres' }),
    afterLoginSql: (role) => `SET SESSION AUTHORIZATION ${quoteIdentifier(role)}`,
    adminSql: async (sql) => {
      const results = await db.exec(sql);
      const rows = results.at(-1)?.rows ?? [];
      return rows.map((row) => Object.values(row).map((value) => (value === null ? '' : String(value))));
    },
    describe: () => `embedded PGlite at ${host}:${port}`,
    stop: async () => {
      await server.stop();
      await db.close();
    },
  };
}
