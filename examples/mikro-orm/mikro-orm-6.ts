// MikroORM 6 (knex underneath) logging in with cloud identity tokens. The cloud comes from the
// environment (PG_PASSWORDLESS_ENABLED=true plus PG_PASSWORDLESS_AZURE_ENABLED, _AWS_ or _GCP_).
// Try it against the emulator:
//   eval "$(npx pg-passwordless-emulator --detach --cloud azure)"
//   npx tsx mikro-orm-6.ts && npx pg-passwordless-emulator stop
import { EntitySchema, MikroORM } from '@mikro-orm/postgresql';
import { pgConfig } from 'pg-passwordless/pg';

interface Note {
  id: number;
  body: string;
}

const NoteSchema = new EntitySchema<Note>({
  name: 'Note',
  tableName: 'mikro_orm_notes',
  properties: { id: { type: 'number', primary: true }, body: { type: 'string' } },
});

const config = await pgConfig(process.env.DATABASE_URL ?? '');
const lifetimeMs = config.maxLifetimeSeconds * 1000;
const orm = await MikroORM.init({
  entities: [NoteSchema],
  host: config.host,
  port: config.port,
  dbName: config.database,
  user: config.user,
  // MikroORM 6 turns a password function into a knex connection provider, and knex calls it again only
  // when `expirationChecker` says so: without one, every later connection would reuse the first token.
  // The checker fires when the token handed out expires or the cache has refreshed it ahead of time.
  password: async () => {
    const password = (await config.password?.()) ?? '';
    const { token } = config;
    const expiresAtMs = token?.expiresAtMs() ?? 0;
    return {
      password,
      expirationChecker: () => !!token && (Date.now() >= expiresAtMs || token.expiresAtMs() !== expiresAtMs),
    };
  },
  driverOptions: {
    connection: { ssl: config.ssl },
    // Connections log in again regularly, at spread times (knex's pool lifetime).
    pool: {
      maxConnectionLifetimeMillis: lifetimeMs * 0.9,
      maxConnectionLifetimeJitterMillis: lifetimeMs * 0.2,
    },
  },
});

await orm.schema.updateSchema();
const em = orm.em.fork();
em.create(NoteSchema, { body: 'no password anywhere' });
await em.flush();
const notes = await em.count(NoteSchema);
const [row] = await em.getConnection().execute<Array<{ role: string }>>('select current_user as role');
console.log(JSON.stringify({ role: row?.role, notes }));
await orm.close();
