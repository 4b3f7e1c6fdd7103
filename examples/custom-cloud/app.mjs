// An app that knows nothing of tokens: plain pg, the URL from the environment, no password anywhere.
// Run it with the preload and the http-token cloud named in the environment:
//   PG_PASSWORDLESS_ENABLED=true PG_PASSWORDLESS_PLUGINS=./examples/custom-cloud/http-token-cloud.mjs \
//   node --import pg-passwordless/register examples/custom-cloud/app.mjs
import pg from 'pg';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
const { rows } = await pool.query('select current_user');
console.log(JSON.stringify({ role: rows[0].current_user }));
await pool.end();
