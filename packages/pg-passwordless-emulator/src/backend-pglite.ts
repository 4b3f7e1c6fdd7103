import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { quoteIdentifier } from 'pg-passwordless/wire';
import type { Backend } from './backend.ts';
import { EmulatorError } from './emulator-error.ts';
import { makeOwnedTempFolder } from './temp-folders.ts';

/**
 * The embedded backend: PGlite (PostgreSQL compiled to WebAssembly) served on a private Unix socket by
 * pglite-socket, so a machine with only Node runs the whole path. PGlite has one user and one shared
 * session behind a multiplexer: the gateway logs in as `postgres` and switches to the role with
 * `SET ROLE`, so `current_user` shows the identity's role.
 *
 * @example
 * const backend = await startPgliteBackend(); // backend.host (a socket folder) and backend.port serve the gateway
 * console.log(await backend.adminSql('select current_user')); // [ [ 'postgres' ] ]
 * await backend.stop();
 */
export async function startPgliteBackend(): Promise<Backend> {
  let modules: [typeof import('@electric-sql/pglite'), typeof import('@electric-sql/pglite-socket')];
  try {
    modules = await Promise.all([import('@electric-sql/pglite'), import('@electric-sql/pglite-socket')]);
  } catch (cause) {
    throw new EmulatorError('EMULATOR_FAILED', 'The embedded PGlite backend could not be loaded.', {
      cause,
      hint: 'Run npm install, or start the emulator with --backend postgres.',
    });
  }
  const [{ PGlite }, { PGLiteSocketServer }] = modules;
  // A Unix socket in a private (0700) folder: the multiplexer trusts every login, so only this OS user may reach it.
  const folder = makeOwnedTempFolder('pglite');
  const port = 5432;
  const db = await PGlite.create();
  const server = new PGLiteSocketServer({ db, path: join(folder, `.s.PGSQL.${port}`), maxConnections: 200 });
  try {
    await server.start();
  } catch (cause) {
    await db.close();
    rmSync(folder, { recursive: true, force: true });
    throw new EmulatorError('EMULATOR_FAILED', 'The embedded PGlite backend did not start.', { cause });
  }
  return {
    kind: 'pglite',
    host: folder,
    port,
    database: 'postgres',
    // pglite-socket hands the StartupMessage to PGlite, which ignores its parameters; settings made on
    // the one shared session instead would reach every other client too.
    loginParameters: () => ({ user: 'postgres', database: 'postgres' }),
    afterLoginSql: (role) => `SET ROLE ${quoteIdentifier(role)}`,
    adminSql: async (sql) => {
      // The session is shared with the gateway's clients and may have switched to a role: run as the
      // superuser, then switch back, in one exec so no client query runs in between.
      const previous =
        (await db.query<{ role: string }>('select current_user as role')).rows[0]?.role ?? 'postgres';
      const results = await db.exec(`RESET ROLE; ${sql}; SET ROLE ${quoteIdentifier(previous)}`);
      const rows = results.at(-2)?.rows ?? [];
      return rows.map((row) => Object.values(row).map((value) => (value === null ? '' : String(value))));
    },
    describe: () => `embedded PGlite on the Unix socket ${server.getServerConn()}`,
    stop: async () => {
      await server.stop();
      await db.close();
      rmSync(folder, { recursive: true, force: true });
    },
  };
}
