// Connects with whatever cloud plugin the environment switches on (PG_PASSWORDLESS_AZURE_ENABLED,
// _AWS_ENABLED or _GCP_ENABLED behind PG_PASSWORDLESS_ENABLED) and prints who it logged in as.
// Try it against the emulator:
//   eval "$(npx pg-passwordless-emulator --detach --cloud aws)"
//   node select-current-user.mjs && npx pg-passwordless-emulator stop
import { createPool } from 'pg-passwordless/pg';

const pool = await createPool(process.env.DATABASE_URL ?? '');
const { rows } = await pool.query('select current_user as role, version() as version');
console.log(`logged in as ${rows[0].role} (${rows[0].version.split(' on ')[0]})`);
await pool.end();
