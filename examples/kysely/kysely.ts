// Kysely on a pg.Pool whose connections log in with cloud identity tokens. The cloud comes from the
// environment (PG_PASSWORDLESS_ENABLED=true plus PG_PASSWORDLESS_AZURE_ENABLED, _AWS_ or _GCP_).
// Try it against the emulator:
//   eval "$(npx pg-passwordless-emulator --detach --cloud azure)"
//   npx tsx kysely.ts && npx pg-passwordless-emulator stop
import { type Generated, Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { createPool } from 'pg-passwordless/pg';

interface Database {
  kysely_notes: { id: Generated<number>; body: string };
}

// Passing pg keeps the pool's type (and the pg copy) the app's own.
const db = new Kysely<Database>({
  dialect: new PostgresDialect({ pool: await createPool(process.env.DATABASE_URL ?? '', { pg }) }),
});

await sql`create table if not exists kysely_notes (id serial primary key, body text not null)`.execute(db);
await db.insertInto('kysely_notes').values({ body: 'no password anywhere' }).execute();
const notes = await db.selectFrom('kysely_notes').select(['body']).execute();
const { rows } = await sql<{ role: string }>`select current_user as role`.execute(db);
console.log(JSON.stringify({ role: rows[0]?.role, notes: notes.length }));
// destroy() ends the pool, so the process exits on its own.
await db.destroy();
