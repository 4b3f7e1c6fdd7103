// MikroORM 7 (Kysely and a pg.Pool underneath; Node 22.17 or later) logging in with cloud identity
// tokens. The cloud comes from the environment (PG_PASSWORDLESS_ENABLED=true plus
// PG_PASSWORDLESS_AZURE_ENABLED, _AWS_ or _GCP_). Try it against the emulator:
//   npm install @mikro-orm/core@7 @mikro-orm/postgresql@7 pg-passwordless @azure/identity
//   eval "$(npx pg-passwordless-emulator --detach --cloud azure)"
//   node mikro-orm-7.mjs && npx pg-passwordless-emulator stop
import { EntitySchema, MikroORM } from '@mikro-orm/postgresql';
import { pgConfig } from 'pg-passwordless/pg';

const Note = new EntitySchema({
  name: 'Note',
  tableName: 'mikro_orm_notes',
  properties: { id: { type: 'number', primary: true }, body: { type: 'string' } },
});

const { database, ...connection } = await pgConfig(process.env.DATABASE_URL ?? '');
const orm = await MikroORM.init({
  entities: [Note],
  dbName: database,
  // MikroORM 7 merges driverOptions into its `new pg.Pool(...)`: pg calls the token function for every
  // new connection, and pg-pool ends connections after maxLifetimeSeconds.
  driverOptions: connection,
});

await orm.schema.update();
const em = orm.em.fork();
em.create(Note, { body: 'no password anywhere' });
await em.flush();
const notes = await em.count(Note);
const [row] = await em.getConnection().execute('select current_user as role');
console.log(JSON.stringify({ role: row?.role, notes }));
await orm.close();
