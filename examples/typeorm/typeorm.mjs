// TypeORM 0.3 with a token as the password of every new connection: TypeORM passes `password` (a
// function) to `new pg.Pool`, and `extra` to the pool as is. Try it against the emulator:
//   eval "$(npx pg-passwordless-emulator --detach)"
//   node typeorm.mjs && npx pg-passwordless-emulator stop
import { pgConfig } from 'pg-passwordless/pg';
import { DataSource } from 'typeorm';

const { host, port, database, user, password, ssl, maxLifetimeSeconds } = await pgConfig(
  process.env.DATABASE_URL ?? '',
);
const dataSource = new DataSource({
  type: 'postgres',
  host,
  port,
  database,
  username: user,
  password,
  // In `extra` rather than TypeORM's `ssl` (typed as server-side TlsOptions): the verified client TLS
  // options go to pg.Pool as they are.
  extra: { ssl, maxLifetimeSeconds, max: 5 },
});
await dataSource.initialize();
const [row] = await dataSource.query('select current_user as role, version() as version');
console.log(`logged in as ${row.role} (${row.version.split(' on ')[0]})`);
await dataSource.destroy();
