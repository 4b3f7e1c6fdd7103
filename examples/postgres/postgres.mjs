// postgres.js with no password: the cloud plugin the environment switches on (PG_PASSWORDLESS_AZURE_ENABLED,
// _AWS_ENABLED or _GCP_ENABLED behind PG_PASSWORDLESS_ENABLED) gives every new connection a token.
// Try it against the emulator:
//   eval "$(npx pg-passwordless-emulator --detach)"
//   node postgres.mjs && npx pg-passwordless-emulator stop

import { postgresOptions } from 'pg-passwordless/postgres';
import postgres from 'postgres';

const options = await postgresOptions(process.env.DATABASE_URL ?? '');
// Spread first, then your own postgres.js options; max_lifetime stays postgres.js's (30 to 60 minutes).
const sql = postgres({ ...options, max: 5 });

const [{ role }] = await sql`select current_user as role`;
const rows = await Promise.all([1, 2, 3, 4, 5].map((n) => sql`select ${n}::int * 2 as doubled`));
console.log(`postgres.js logged in as ${role}`);
console.log(`${rows.length} queries in parallel; token fetches: ${options.token?.stats().fetches}`);
await sql.end();
