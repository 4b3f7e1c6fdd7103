// node-pg-migrate's programmatic runner, logging in with a cloud identity token. The cloud comes from
// the environment (PG_PASSWORDLESS_ENABLED=true plus PG_PASSWORDLESS_AZURE_ENABLED, _AWS_ or _GCP_).
// Try it against the emulator:
//   eval "$(npx pg-passwordless-emulator --detach --cloud azure)"
//   npx tsx migrate.ts && npx pg-passwordless-emulator stop
import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';
import { pgConfig } from 'pg-passwordless/pg';

// databaseUrl also takes a pg.ClientConfig: the runner opens one `new pg.Client(config)`, which calls the
// token function when it logs in, with verified TLS. (The node-pg-migrate CLI has no password hook.)
const applied = await runner({
  databaseUrl: await pgConfig(process.env.DATABASE_URL ?? ''),
  dir: fileURLToPath(new URL('./migrations', import.meta.url)),
  direction: 'up',
  migrationsTable: 'pgmigrations',
  log: () => {},
});
console.log(JSON.stringify({ applied: applied.map((migration) => migration.name) }));
