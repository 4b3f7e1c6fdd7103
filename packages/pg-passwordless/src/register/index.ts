/**
 * The preload: `node --import pg-passwordless/register app.js`, or
 * `NODE_OPTIONS=--import=pg-passwordless/register`. An app that uses `pg` (directly, or through knex,
 * Sequelize, TypeORM, Kysely, Drizzle, MikroORM, node-pg-migrate) connects password-less with no change
 * to its code, driven by the environment alone: PG_PASSWORDLESS_ENABLED=true, a cloud switch
 * (PG_PASSWORDLESS_AZURE_ENABLED, ...), and the target in DATABASE_URL or PGHOST/PGPORT. Off, it does
 * nothing at all. Synchronous on purpose: `--import` finishes this module before the app's first line,
 * so `pg` is patched before the app loads it, and there is no top-level await in the library.
 */
import { writeSync } from 'node:fs';
import { installPreload, startFailureMessage } from './install.ts';

try {
  installPreload();
} catch (error) {
  const message = startFailureMessage(error);
  if (message === undefined) throw error;
  // A misconfiguration: the code, the message and the hint, instead of Node's dump of the stack around
  // them. The process ends here, before the app's first line: under --import, a preload that sets
  // process.exitCode and returns lets the app start anyway. Written synchronously, so that exit() cannot
  // cut it off (stderr to a pipe is asynchronous on some platforms).
  writeSync(2, message);
  process.exit(1);
}
