// Drizzle ORM with no password, over either driver: `node drizzle.mjs pg` (node-postgres, a pool from
// createPool) or `node drizzle.mjs postgres` (postgres.js, options from postgresOptions). The cloud plugin
// the environment switches on (PG_PASSWORDLESS_AZURE_ENABLED, _AWS_ENABLED or _GCP_ENABLED behind
// PG_PASSWORDLESS_ENABLED) gives every new connection a token.
// Try it against the emulator:
//   eval "$(npx pg-passwordless-emulator --detach)"
//   node drizzle.mjs pg && node drizzle.mjs postgres && npx pg-passwordless-emulator stop
import { desc, sql } from 'drizzle-orm';
import { integer, pgTable, serial, text } from 'drizzle-orm/pg-core';

const flowRuns = pgTable('drizzle_flow_runs', {
  id: serial('id').primaryKey(),
  name: text('name').notNull(),
  attempts: integer('attempts').notNull().default(0),
});

async function connect(driver) {
  const url = process.env.DATABASE_URL ?? '';
  if (driver === 'pg') {
    const { drizzle } = await import('drizzle-orm/node-postgres');
    const { createPool } = await import('pg-passwordless/pg');
    // createPool retries a refused login with a new token and spreads connection lifetimes.
    const pool = await createPool(url, { pool: { max: 5 } });
    return { db: drizzle(pool), close: () => pool.end() };
  }
  const { drizzle } = await import('drizzle-orm/postgres-js');
  const { postgresOptions } = await import('pg-passwordless/postgres');
  const db = drizzle({ connection: { ...(await postgresOptions(url)), max: 5 } });
  return { db, close: () => db.$client.end() };
}

const driver = process.argv[2] ?? 'pg';
const { db, close } = await connect(driver);
await db.execute(sql`create table if not exists drizzle_flow_runs (
  id serial primary key, name text not null, attempts integer not null default 0)`);
await db.insert(flowRuns).values([{ name: `${driver}-nightly` }, { name: `${driver}-hourly`, attempts: 2 }]);
const [latest] = await db
  .select({ name: flowRuns.name, attempts: flowRuns.attempts, role: sql`current_user` })
  .from(flowRuns)
  .orderBy(desc(flowRuns.id))
  .limit(1);
console.log(
  `drizzle over ${driver} logged in as ${latest.role}; latest run: ${latest.name} (${latest.attempts} attempts)`,
);
await close();
